package dashboard

import (
	"context"
	"net/http"
	"time"
)

// ReadyTimeout bounds the Redis ping of /readyz.
const ReadyTimeout = 2 * time.Second

// healthz answers while the process serves HTTP.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when Redis answers a PING within ReadyTimeout, else
// 503. The error text is not shown: it may name hosts.
func (d *Dashboard) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := d.rdb.Ping(ctx).Err(); err != nil {
		d.log.Warn().Err(err).Msg("dashboard: readyz: redis unreachable")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("redis unreachable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
