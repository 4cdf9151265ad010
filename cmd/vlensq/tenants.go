package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/tenancy"
)

func newTenantsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "List tenants with their state and backlog; pause and resume them",
		Long: `tenants shows how the tenants share the fleet and pauses or resumes one.

A paused tenant's tasks wait (no Vlens call, no attempt spent, no dead letter); its new tasks are still
accepted; every other tenant runs as before. The circuit breaker pauses a tenant by itself when Vlens
answers with an account-level error (see the README's "Tenants share the fleet" section).`,
	}
	cmd.AddCommand(newTenantsListCmd(g), newTenantsPauseCmd(g), newTenantsResumeCmd(g))
	return cmd
}

func newTenantsListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Each tenant: state (running | paused + cause), backlog, running, rate, oldest waiting task",
		Args:  cobra.NoArgs,
		RunE: withTenants(g, func(cmd *cobra.Command, p *process, _ []string) error {
			list, err := p.Fair.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			return writeTenants(g, list, time.Now())
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeTenants(g *globals, list []tenancy.Status, now time.Time) error {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TENANT\tSTATE\tBACKLOG\tREADY\tRUNNING\tRATE\tWEIGHT\tOLDEST WAITING\tCAUSE")
	for _, s := range list {
		oldest := "-"
		if !s.OldestWaiting.IsZero() {
			oldest = now.Sub(s.OldestWaiting).Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d/s %d/min\t%d\t%s\t%s\n", s.Tenant, s.State, s.Backlog, s.Ready, s.Running,
			s.RatePerSecond, s.RatePerMinute, s.Weight, oldest, pauseCause(s.Pause))
	}
	return w.Flush()
}

// pauseCause describes why a tenant is paused, in one line.
func pauseCause(p *tenancy.Pause) string {
	if p == nil {
		return ""
	}
	return p.Describe()
}

func newTenantsPauseCmd(g *globals) *cobra.Command {
	var reason, by string
	cmd := &cobra.Command{
		Use:   "pause NAME [--reason TEXT]",
		Short: "Pause a tenant: its tasks wait (no Vlens call, no attempt spent, no dead letter)",
		Args:  cobra.ExactArgs(1),
		RunE: withTenants(g, func(cmd *cobra.Command, p *process, args []string) error {
			if _, err := p.States.Pause(cmd.Context(), args[0], operator(by), reason); err != nil {
				return tenantErr(err)
			}
			fmt.Fprintf(g.stdout, "tenant %s paused; its tasks wait until `vlensq tenants resume %s`\n", args[0], args[0])
			return nil
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded with the pause and shown by tenants list and the dashboard")
	cmd.Flags().StringVar(&by, "by", "", "who pauses (default: $USER)")
	return cmd
}

func newTenantsResumeCmd(g *globals) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "resume NAME",
		Short: "Resume a paused tenant: its backlog runs again at its normal rate and fair share",
		Args:  cobra.ExactArgs(1),
		RunE: withTenants(g, func(cmd *cobra.Command, p *process, args []string) error {
			if err := p.States.Resume(cmd.Context(), args[0], operator(by)); err != nil {
				return tenantErr(err)
			}
			fmt.Fprintf(g.stdout, "tenant %s resumed\n", args[0])
			return nil
		}),
	}
	cmd.Flags().StringVar(&by, "by", "", "who resumes (default: $USER)")
	return cmd
}

// withTenants runs fn with a process that knows the tenants from the
// registry the workers publish: the tenants commands need Redis only.
func withTenants(g *globals, fn func(cmd *cobra.Command, p *process, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		p, err := g.open(cmd.Context(), app.Options{}, tenantsRegistry)
		if err != nil {
			return err
		}
		defer p.Close()
		return fn(cmd, p, args)
	}
}

// operator is who runs the command, for the pause record.
func operator(by string) string {
	if by != "" {
		return by
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return cmp.Or(os.Getenv("USER"), "operator")
}

// tenantErr makes an unknown tenant or a resume of a running tenant a
// usage error (exit 2) naming the tenant.
func tenantErr(err error) error {
	if errors.Is(err, tenancy.ErrUnknownTenant) || errors.Is(err, tenancy.ErrNotPaused) {
		return usageErr("%v", err)
	}
	return err
}
