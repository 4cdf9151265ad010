package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/vlens"
)

// globals are the flags every subcommand shares; each has an environment
// variable (DESIGN.md "Configuration").
type globals struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	redisURL    string
	vlensURL    string
	tenantsFile string
	// tenantsSet reports that --tenants or VLENSQ_TENANTS was given.
	tenantsSet bool
	codesFile  string
	logLevel   string
	logFormat  string
	// logLevelSet reports that --log-level or VLENSQ_LOG_LEVEL was given.
	logLevelSet bool
}

func env(name, def string) string { return cmp.Or(os.Getenv(name), def) }

func (g *globals) bind(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.redisURL, "redis", env("VLENSQ_REDIS", config.RedisURLDefault),
		"Redis: redis://[:pass@]host:port/db, rediss://…, redis-cluster://h1:p1,h2:p2, redis-sentinel://[:pass@]h1:p1,h2:p2/master, or memory (env VLENSQ_REDIS)")
	f.StringVar(&g.vlensURL, "vlens-url", env("VLENS_BASE_URL", vlens.BaseURLDefault), "Vlens API root (env VLENS_BASE_URL)")
	f.StringVar(&g.tenantsFile, "tenants", env("VLENSQ_TENANTS", "tenants.json"),
		"JSON file: list of {tenancy_name, api_key | api_key_file, username, password | password_file, rate_per_second, rate_per_minute, weight}; "+
			"secrets may be ${ENV_NAME} references. Read with its secrets by worker and sandbox only; enqueue and session put read names and limits only "+
			"(secret fields may be absent); dashboard and dlq never read it (env VLENSQ_TENANTS)")
	f.StringVar(&g.codesFile, "codes", env("VLENSQ_CODES", ""), "JSON file extending or overriding the error classification table (env VLENSQ_CODES)")
	f.StringVar(&g.logLevel, "log-level", env("VLENSQ_LOG_LEVEL", "info"), "log level: trace, debug, info, warn, error (env VLENSQ_LOG_LEVEL)")
	f.StringVar(&g.logFormat, "log-format", env("VLENSQ_LOG_FORMAT", "auto"), "log format: json, console, or auto (console on a terminal) (env VLENSQ_LOG_FORMAT)")
}

// logger builds the process logger: JSON lines on stderr, or a console
// format when stderr is a terminal.
func (g *globals) logger() (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(g.logLevel))
	if err != nil || g.logLevel == "" {
		return zerolog.Logger{}, usageErr("--log-level / VLENSQ_LOG_LEVEL: unknown level %q (want trace, debug, info, warn, error)", g.logLevel)
	}
	var w io.Writer = g.stderr
	switch g.logFormat {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: g.stderr, TimeFormat: time.TimeOnly}
	case "auto", "":
		if isTerminal(g.stderr) {
			w = zerolog.ConsoleWriter{Out: g.stderr, TimeFormat: time.TimeOnly}
		}
	default:
		return zerolog.Logger{}, usageErr("--log-format / VLENSQ_LOG_FORMAT: unknown format %q (want json, console or auto)", g.logFormat)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// openRedis connects and checks that Redis answers.
func (g *globals) openRedis(ctx context.Context) (*config.Redis, error) {
	r, err := config.OpenRedis(g.redisURL)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.Client.Ping(pctx).Err(); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", r.Display, err)
	}
	return r, nil
}

// loadTenants reads the tenants file with its secrets: for the processes
// that call Vlens (worker, sandbox).
func (g *globals) loadTenants() (*vlens.TenantSet, error) {
	ts, err := vlens.LoadTenants(g.tenantsFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageErr("tenants file %s not found: set --tenants or VLENSQ_TENANTS (a JSON list of {tenancy_name, api_key or api_key_file, username, password or password_file})", g.tenantsFile)
		}
		return nil, badInput(err)
	}
	return ts, nil
}

// publicTenants is what enqueue and session put know of the tenants: the
// tenants file read without its secrets (no secret file is opened, no
// ${ENV} reference resolved) when one is given or tenants.json exists;
// else nil, and the App reads the registry the workers publish to Redis.
func (g *globals) publicTenants() (vlens.TenantSource, error) {
	if !g.tenantsSet {
		if _, err := os.Stat(g.tenantsFile); err != nil {
			return nil, nil
		}
	}
	ts, err := vlens.LoadPublicTenants(g.tenantsFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageErr("tenants file %s not found: fix --tenants / VLENSQ_TENANTS, or unset it to use the tenants registry the workers publish to Redis", g.tenantsFile)
		}
		return nil, badInput(err)
	}
	return ts, nil
}

// tenantNames lists the tenants a directory knows, when it can.
func tenantNames(dir vlens.TenantSource) []string {
	if l, ok := dir.(interface{ Names() []string }); ok {
		return l.Names()
	}
	return nil
}

// unknownTenantHint explains an unknown tenant: the tenants that are known,
// or why none are.
func unknownTenantHint(dir vlens.TenantSource) string {
	names := tenantNames(dir)
	if len(names) > 0 {
		return "known tenants: " + strings.Join(names, ", ")
	}
	if reg, ok := dir.(*vlens.TenantRegistry); ok {
		if err := reg.Err(); err != nil {
			return err.Error()
		}
		return "no tenants known: no worker has published the tenants registry (" + vlens.RegistryKeyDefault +
			") to this Redis yet, and no tenants file was given; start a worker or set --tenants / VLENSQ_TENANTS"
	}
	return "no tenants known"
}

func (g *globals) loadTable() (*vlens.Table, error) {
	t, err := vlens.LoadTable(g.codesFile)
	if err != nil {
		return nil, badInput(err)
	}
	return t, nil
}

// tenantNeed is what a command may know of the tenants (least privilege:
// only the processes that call Vlens read Vlens secrets).
type tenantNeed int

const (
	// tenantsRegistry: only Redis (dashboard, dlq). A requeue checks the
	// tenant against the registry the workers publish.
	tenantsRegistry tenantNeed = iota
	// tenantsPublic: names and limits, never secrets (enqueue, session put).
	tenantsPublic
	// tenantsWithSecrets: the tenants file with its secrets (worker).
	tenantsWithSecrets
)

// process is what most subcommands need: Redis, what they may know of the
// tenants, and the assembled App. Close releases all of it.
type process struct {
	*app.App
	log    zerolog.Logger
	traces *tracing.Provider
}

func (p *process) Close() {
	_ = p.App.Close()
	_ = p.Redis.Close()
	shutdownTracing(p.traces, p.log)
}

// shutdownTracing flushes the spans still buffered, waiting at most
// tracingFlushTimeout.
func shutdownTracing(tp *tracing.Provider, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		log.Warn().Err(err).Msg("tracing: could not flush the last spans")
	}
}

// tracingFlushTimeout bounds the flush of the last spans at exit.
const tracingFlushTimeout = 5 * time.Second

// openTracing sets tracing up from the OTEL_* environment (off when unset).
func openTracing(ctx context.Context) (*tracing.Provider, error) {
	tp, err := tracing.FromEnv(ctx)
	if err != nil {
		return nil, usageErr("tracing: %v", err)
	}
	return tp, nil
}

func (g *globals) open(ctx context.Context, o app.Options, need tenantNeed) (*process, error) {
	log, err := g.logger()
	if err != nil {
		return nil, err
	}
	switch need {
	case tenantsWithSecrets:
		if o.Tenants, err = g.loadTenants(); err != nil {
			return nil, err
		}
		if o.Table, err = g.loadTable(); err != nil {
			return nil, err
		}
	case tenantsPublic:
		if o.Directory, err = g.publicTenants(); err != nil {
			return nil, err
		}
	}
	traces, err := openTracing(ctx)
	if err != nil {
		return nil, err
	}
	r, err := g.openRedis(ctx)
	if err != nil {
		shutdownTracing(traces, log)
		return nil, err
	}
	o.Redis, o.Logger = r, &log
	o.VlensBaseURL = g.vlensURL
	if traces.Enabled() {
		o.TracerProvider = traces.TracerProvider
	}
	a, err := app.New(o)
	if err != nil {
		_ = r.Close()
		shutdownTracing(traces, log)
		return nil, err
	}
	return &process{App: a, log: log, traces: traces}, nil
}
