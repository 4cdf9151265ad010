package handlers

import (
	"context"
	"time"
)

// Bounds of awaitRedis.
const (
	// RedisWaitMaxDefault bounds how long a failed attempt waits for Redis
	// to come back before handing its error to asynq.
	RedisWaitMaxDefault = 2 * time.Minute
	redisProbeMin       = 100 * time.Millisecond
	redisProbeMax       = 2 * time.Second
)

// awaitRedis returns once Redis answers a PING, ctx ends (shutdown, the
// task's deadline, or asynq giving up the lease), or Config.RedisWaitMax has
// passed. Probes back off from 100 ms to 2 s.
func (h *Handler) awaitRedis(ctx context.Context) {
	deadline := time.Now().Add(h.cfg.RedisWaitMax)
	wait := redisProbeMin
	logged := false
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := h.rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			if logged {
				h.log.Info().Msg("redis answers again; handing the attempt back to asynq")
			}
			return
		}
		if !logged {
			h.log.Warn().Err(err).Msg("redis unreachable: holding the failed attempt until it answers, so its retry is recorded")
			logged = true
		}
		if time.Now().Add(wait).After(deadline) {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, redisProbeMax)
	}
}
