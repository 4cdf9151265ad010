package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

func newSandboxCmd(g *globals) *cobra.Command {
	var addr, faults string
	var accessTTL time.Duration
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a faithful fake Vlens, with scripted scenarios and random fault injection",
		Long: `sandbox serves the Vlens endpoints every task type uses, plus login and token refresh with real
expiry. It accepts the tenants of the tenants file (or two demo tenants when there is none).

Scenarios: a request body string starting with "sandbox:" scripts the answers, e.g.
  "client_transaction_id": "sandbox:http500,http500,ok#order-17"
Faults:  --faults "latency=20ms-200ms,5xx=0.05,reset=0.01,html=0.01,truncated=0.01,429=0.02,401=0.01,4003=0.01,seed=7"
Admin:   GET /_sandbox/injections, GET /_sandbox/requests, GET|PUT /_sandbox/faults,
         POST /_sandbox/users, POST /_sandbox/expire, POST /_sandbox/revoke
See the README's "Sandbox" section for the whole vocabulary.

Needs: nothing; with VLENSQ_TENANTS it reads that file with its secrets (the fake accepts them).
Business requests get UUID ids, as at Vlens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			fs, err := vlenstest.ParseFaults(faults)
			if err != nil {
				return usageErr("--faults: %v", err)
			}
			tenants, err := sandboxTenants(g)
			if err != nil {
				return err
			}
			opts := vlenstest.Options{Tenants: tenants, Faults: fs, AccessTTL: accessTTL}
			if err := opts.Validate(); err != nil {
				return badInput(err)
			}
			fake := vlenstest.New(opts)
			defer fake.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}
			names := make([]string, len(tenants))
			for i, t := range tenants {
				names[i] = t.Name
			}
			log.Info().Str("addr", ln.Addr().String()).Strs("tenants", names).Str("faults", fs.String()).Msg("fake Vlens listening")
			fmt.Fprintf(g.stdout, "fake Vlens at http://%s (tenants: %s)\n", ln.Addr(), strings.Join(names, ", "))
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", env("VLENSQ_SANDBOX_ADDR", ":8081"), "listen address (env VLENSQ_SANDBOX_ADDR)")
	cmd.Flags().StringVar(&faults, "faults", env("VLENSQ_SANDBOX_FAULTS", ""), "random fault injection spec (env VLENSQ_SANDBOX_FAULTS)")
	cmd.Flags().DurationVar(&accessTTL, "access-ttl", 0, "access token lifetime (default: Vlens's 86400 s)")
	return cmd
}

// sandboxTenants are the tenants file's tenants, or the demo tenants when the
// default file does not exist.
func sandboxTenants(g *globals) ([]vlens.Tenant, error) {
	ts, err := vlens.LoadTenants(g.tenantsFile)
	if errors.Is(err, os.ErrNotExist) {
		return vlenstest.DemoTenants(), nil
	}
	if err != nil {
		return nil, badInput(err)
	}
	var out []vlens.Tenant
	for _, n := range ts.Names() {
		t, _ := ts.Tenant(n)
		out = append(out, t)
	}
	return out, nil
}
