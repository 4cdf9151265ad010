package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/dashboard"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/metrics"
)

// dashboardShutdownDefault is how long a graceful stop of the dashboard
// waits for requests in flight (a requeue of up to MaxBulk records may be
// one of them).
const dashboardShutdownDefault = 30 * time.Second

type dashboardOpts struct {
	addr            string
	readOnly        bool
	insecureNoAuth  bool
	sessionTTL      time.Duration
	requeueRate     float64
	maxBulk         int
	shutdownTimeout time.Duration
}

func newDashboardCmd(g *globals) *cobra.Command {
	o := &dashboardOpts{}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve Asynqmon, the dead-letter pages and API, and metrics over HTTP",
		Long: `dashboard serves, behind one sign-in:
  /monitoring/   Asynqmon (task payloads and results redacted)
  /dlq/          dead letters: filter, read, copy the Vlens support ticket, export, requeue, purge
  /api/dlq       the same as JSON
  /tenants/      tenants: state, backlog, rate, oldest waiting task, pause cause; pause and resume
  /api/tenants   the same as JSON
  /metrics       queue sizes, latency, processed/failed totals, dead-letter counts
  /healthz, /readyz   without authentication

Authentication: VLENSQ_DASHBOARD_TOKEN (a bearer token of at least 16 characters) and/or
VLENSQ_DASHBOARD_USERS ("user:bcrypt-hash,..."; make a hash with htpasswd -nbB user password).
Browsers sign in at /login. Without either the dashboard refuses to start, unless
--insecure-no-auth. Set VLENSQ_DASHBOARD_SESSION_KEY (32+ characters) to keep sessions across
restarts and replicas. It stops gracefully on SIGTERM or Ctrl-C.

Needs: VLENSQ_REDIS and the dashboard's own authentication above. No tenants file and no Vlens
secret: a requeue checks the tenant against the tenants registry the workers publish to Redis.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDashboard(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", env("VLENSQ_DASHBOARD_ADDR", ":8080"), "listen address (env VLENSQ_DASHBOARD_ADDR)")
	f.BoolVar(&o.readOnly, "read-only", os.Getenv("VLENSQ_DASHBOARD_READ_ONLY") == "true", "disable requeue, purge, tenant pause/resume and Asynqmon's write actions (env VLENSQ_DASHBOARD_READ_ONLY=true)")
	f.BoolVar(&o.insecureNoAuth, "insecure-no-auth", false, "serve without authentication; only with a loopback --addr such as 127.0.0.1:8080")
	f.DurationVar(&o.sessionTTL, "session-ttl", envDuration("VLENSQ_DASHBOARD_SESSION_TTL", dashboard.SessionTTLDefault), "lifetime of a browser session (env VLENSQ_DASHBOARD_SESSION_TTL)")
	f.Float64Var(&o.requeueRate, "requeue-rate", envFloat("VLENSQ_DASHBOARD_REQUEUE_RATE", dashboard.RequeueRateDefault), "requeues per second (env VLENSQ_DASHBOARD_REQUEUE_RATE)")
	f.IntVar(&o.maxBulk, "max-bulk", envInt("VLENSQ_DASHBOARD_MAX_BULK", dashboard.MaxBulkDefault), "most records one requeue from the dashboard may touch (env VLENSQ_DASHBOARD_MAX_BULK)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", envDuration("VLENSQ_DASHBOARD_SHUTDOWN_TIMEOUT", dashboardShutdownDefault), "how long a graceful stop waits for requests in flight (env VLENSQ_DASHBOARD_SHUTDOWN_TIMEOUT)")
	return cmd
}

func runDashboard(ctx context.Context, g *globals, o *dashboardOpts) error {
	token := os.Getenv("VLENSQ_DASHBOARD_TOKEN")
	users, err := dashboard.ParseUsers(os.Getenv("VLENSQ_DASHBOARD_USERS"))
	if err != nil {
		return badInput(err)
	}
	if token == "" && len(users) == 0 && !o.insecureNoAuth {
		return usageErr("dashboard: %v", dashboard.ErrNoAuth)
	}
	if o.insecureNoAuth && !loopbackAddr(o.addr) {
		return usageErr("dashboard: --insecure-no-auth listens on loopback only: use --addr 127.0.0.1:PORT (or [::1]:PORT, localhost:PORT), got %q", o.addr)
	}
	var sessionKey []byte
	if k := os.Getenv("VLENSQ_DASHBOARD_SESSION_KEY"); k != "" {
		sessionKey = []byte(k)
	}

	m := metrics.New()
	p, err := g.open(ctx, app.Options{Metrics: m}, tenantsRegistry)
	if err != nil {
		return err
	}
	defer p.Close()
	log := p.log
	d, err := dashboard.New(dashboard.Config{
		Redis: p.Redis, DLQ: p.DLQ, Requeue: p.RequeueFunc(), Metrics: m, Tenants: p.Directory,
		Token: token, Users: users, InsecureNoAuth: o.insecureNoAuth, ReadOnly: o.readOnly,
		SessionKey: sessionKey, SessionTTL: o.sessionTTL, RequeueRate: o.requeueRate, MaxBulk: o.maxBulk,
		Logger: &log,
	})
	if err != nil {
		return badInput(err)
	}
	defer d.Close()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{
		Handler:           d.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: exports stream for as long as they need.
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if o.insecureNoAuth {
		log.Warn().Msg("dashboard: serving WITHOUT authentication (--insecure-no-auth): anyone who reaches the address can read and requeue dead letters")
	}
	url := "http://" + displayAddr(ln.Addr())
	log.Info().Str("url", url).Str("redis", p.Redis.Display).Bool("read_only", o.readOnly).
		Bool("token", token != "").Int("users", len(users)).Msg("dashboard listening")
	fmt.Fprintf(g.stdout, "vlensq dashboard on %s/ (dead letters at /dlq/, tenants at /tenants/, Asynqmon at /monitoring/, metrics at /metrics)\n", url)

	select {
	case err := <-served:
		return fmt.Errorf("dashboard: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info().Dur("timeout", o.shutdownTimeout).Msg("dashboard stopping: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("dashboard: shutdown: %w", err)
		}
		log.Warn().Msg("dashboard: requests still in flight after the shutdown timeout were cut")
	}
	log.Info().Msg("dashboard stopped")
	return nil
}

// loopbackAddr reports whether a listen address binds only the loopback
// interface: "127.0.0.1:8080", "[::1]:8080", "localhost:8080". An empty
// host (":8080") binds every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// displayAddr shows a listen address as a URL host: a wildcard address
// becomes localhost.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
}
