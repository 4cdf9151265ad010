package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/app"
)

// filterFlags are the dead-letter filters shared by list, export, requeue
// and purge.
type filterFlags struct {
	tenant, code, category, typ, class, since, until string
	all                                              bool
}

func (f *filterFlags) bind(fs *pflag.FlagSet, withAll bool) {
	fs.StringVar(&f.tenant, "tenant", "", "only this tenant")
	fs.StringVar(&f.code, "code", "", "only this Vlens error code")
	fs.StringVar(&f.category, "category", "", "only this category (authentication, registration, identity_verification, business_request, validation, account, network, server, unknown)")
	fs.StringVar(&f.typ, "type", "", "only this task type")
	fs.StringVar(&f.class, "class", "", "only this class (permanent, transient, ...)")
	fs.StringVar(&f.since, "since", "", "dead-lettered at or after: RFC 3339 time or a duration ago (24h)")
	fs.StringVar(&f.until, "until", "", "dead-lettered before: RFC 3339 time or a duration ago")
	if withAll {
		fs.BoolVar(&f.all, "all", false, "act on every record (required when no ID and no filter is given)")
	}
}

func (f *filterFlags) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"tenant": f.tenant, "code": f.code, "category": f.category, "type": f.typ, "class": f.class, "since": f.since, "until": f.until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (f *filterFlags) filter() (deadletter.Filter, error) {
	flt, err := deadletter.ParseFilter(f.values(), time.Now())
	if err != nil {
		return flt, badInput(err)
	}
	return flt, nil
}

func (f *filterFlags) empty() bool { return len(f.values()) == 0 }

// dlqNeeds is the settings paragraph of every dlq command's help.
const dlqNeeds = `Needs: VLENSQ_REDIS only. No tenants file and no Vlens secret: a support agent needs nothing else.
requeue checks each record's tenant against the tenants registry the workers publish to Redis.`

func newDLQCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "List, search, show, export, requeue and purge dead-letter records",
		Long: `dlq lists, searches, shows, exports, requeues and purges dead-letter records.

` + dlqNeeds}
	cmd.AddCommand(newDLQListCmd(g), newDLQShowCmd(g), newDLQExportCmd(g), newDLQRequeueCmd(g), newDLQPurgeCmd(g), newDLQStatsCmd(g))
	for _, sub := range cmd.Commands() {
		sub.Long = cmp.Or(sub.Long, sub.Short) + "\n\n" + dlqNeeds
	}
	return cmd
}

func newDLQListCmd(g *globals) *cobra.Command {
	var ff filterFlags
	var limit int
	var cursor string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flt, err := ff.filter()
			if err != nil {
				return err
			}
			if limit < 1 || limit > 1000 {
				return usageErr("--limit must be between 1 and 1000, got %d", limit)
			}
			p, err := g.open(cmd.Context(), app.Options{}, tenantsRegistry)
			if err != nil {
				return err
			}
			defer p.Close()
			page, err := p.DLQ.List(cmd.Context(), flt, limit, cursor)
			if err != nil {
				return badInputIfCursor(err)
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(struct {
					Records    []*deadletter.Record `json:"records"`
					NextCursor string               `json:"next_cursor,omitempty"`
				}{nonNil(page.Records), page.NextCursor})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tFAILED_AT\tTENANT\tTYPE\tCLASS\tCATEGORY\tCODE\tHTTP\tMESSAGE")
			for _, r := range page.Records {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.FailedAt.UTC().Format(time.RFC3339), r.Tenant, r.Type,
					classLabel(r), r.Category, codeLabel(r.ErrorCode), r.HTTPStatus, clip(r.ErrorMessage, 60))
			}
			_ = tw.Flush()
			if page.NextCursor != "" {
				fmt.Fprintf(g.stdout, "\nmore: vlensq dlq list --cursor %s (same filters)\n", page.NextCursor)
			}
			return nil
		},
	}
	ff.bind(cmd.Flags(), false)
	cmd.Flags().IntVar(&limit, "limit", 50, "records per page (1-1000)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue after a previous page (printed at its end)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func badInputIfCursor(err error) error {
	if strings.Contains(err.Error(), "cursor") {
		return badInput(err)
	}
	return err
}

func nonNil(r []*deadletter.Record) []*deadletter.Record {
	if r == nil {
		return []*deadletter.Record{}
	}
	return r
}

func classLabel(r *deadletter.Record) string {
	if r.RetriesExhausted {
		return r.Class + " (retries_exhausted)"
	}
	return r.Class
}

func codeLabel(c int) string {
	if c == 0 {
		return "-"
	}
	return strconv.Itoa(c)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newDLQShowCmd(g *globals) *cobra.Command {
	var ticket bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one dead letter as JSON; --ticket prints the Vlens support ticket",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.open(cmd.Context(), app.Options{}, tenantsRegistry)
			if err != nil {
				return err
			}
			defer p.Close()
			rec, err := p.DLQ.Get(cmd.Context(), args[0])
			if errors.Is(err, deadletter.ErrNotFound) {
				return usageErr("no dead letter with id %q", args[0])
			}
			if err != nil {
				return err
			}
			if ticket {
				_, err = io.WriteString(g.stdout, deadletter.Ticket(rec))
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rec)
		},
	}
	cmd.Flags().BoolVar(&ticket, "ticket", false, "print the ticket text for Vlens support: endpoint, request (redacted), response, tenant, UTC time")
	return cmd
}

func newDLQStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Count dead letters by category, code, tenant and type",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.open(cmd.Context(), app.Options{}, tenantsRegistry)
			if err != nil {
				return err
			}
			defer p.Close()
			st, err := p.DLQ.Stats(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		},
	}
}

func newDLQExportCmd(g *globals) *cobra.Command {
	var ff filterFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Stream dead letters as NDJSON or CSV (constant memory)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "ndjson" && format != "csv" {
				return usageErr("--format must be ndjson or csv, got %q", format)
			}
			flt, err := ff.filter()
			if err != nil {
				return err
			}
			p, err := g.open(cmd.Context(), app.Options{}, tenantsRegistry)
			if err != nil {
				return err
			}
			defer p.Close()
			var w io.Writer = g.stdout
			var f *os.File
			if out != "" && out != "-" {
				// Owner-only: the export holds support data.
				if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
					return usageErr("--out: %v", err)
				}
				if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode otherwise
					_ = f.Close()
					return usageErr("--out: %v", err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriterSize(w, 256<<10)
			n, err := p.DLQ.Export(cmd.Context(), bw, flt, format)
			if ferr := bw.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(g.stderr, "exported %d records to %s\n", n, out)
			}
			return nil
		},
	}
	ff.bind(cmd.Flags(), false)
	cmd.Flags().StringVar(&format, "format", "ndjson", "ndjson or csv")
	cmd.Flags().StringVar(&out, "out", "", "file to write, created readable by the owner only (0600) (default stdout)")
	return cmd
}

func newDLQRequeueCmd(g *globals) *cobra.Command {
	var ff filterFlags
	var dryRun bool
	var rate float64
	var by string
	var restart, force bool
	cmd := &cobra.Command{
		Use:   "requeue (ID... | filters | --all)",
		Short: "Enqueue dead letters' original tasks again (throttled, once per record)",
		Long: `requeue enqueues the original payload of each selected record again, on its original queue,
and notes the requeue on the record. Run it with --dry-run first. A record whose requeued task
still exists is skipped, so running the same requeue twice enqueues nothing twice.
A verify:identity record resumes at the step that failed (the steps that succeeded are not
called again); --restart starts it again from the first step with a new transaction_id (or the
payload's own). --force requeues records already requeued (e.g. to --restart after a resume).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBulk(cmd.Context(), g, &ff, args, func(ctx context.Context, p *process, flt deadletter.Filter, progress func(int, int)) error {
				opt := deadletter.RequeueOptions{
					DryRun: dryRun, By: by, RatePerSecond: rate, Progress: progress,
					Enqueue: p.RequeueFunc(), All: ff.all && len(args) == 0 && ff.empty(), Force: force,
				}
				if restart {
					opt.Enqueue = p.RestartFunc()
				}
				rep, err := p.DLQ.Requeue(ctx, args, flt, opt)
				if err != nil {
					return err
				}
				verb := "requeued"
				if dryRun {
					verb = "would requeue"
				}
				fmt.Fprintf(g.stdout, "matched %d, %s %d, skipped %d, failed %d\n", rep.Matched, verb, rep.Requeued, rep.Skipped, rep.Failed)
				for _, it := range rep.Items {
					switch {
					case it.Error != "":
						fmt.Fprintf(g.stdout, "  %s: failed: %s\n", it.ID, it.Error)
					case it.Skipped != "":
						fmt.Fprintf(g.stdout, "  %s: skipped: %s\n", it.ID, it.Skipped)
					case dryRun:
						fmt.Fprintf(g.stdout, "  %s: would requeue\n", it.ID)
					default:
						fmt.Fprintf(g.stdout, "  %s: requeued as %s\n", it.ID, it.NewTaskID)
					}
				}
				if rep.Failed > 0 {
					return fmt.Errorf("%d records could not be requeued", rep.Failed)
				}
				return nil
			})
		},
	}
	ff.bind(cmd.Flags(), true)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be requeued; change nothing")
	cmd.Flags().Float64Var(&rate, "rate", 20, "records requeued per second at most")
	cmd.Flags().StringVar(&by, "by", env("USER", "cli"), "who requeues, noted on each record")
	cmd.Flags().BoolVar(&force, "force", false, "requeue records that were already requeued (new task id <id>:rq<n+1>)")
	cmd.Flags().BoolVar(&restart, "restart", false, "start verify:identity tasks again from the first step instead of resuming at the failed one")
	return cmd
}

func newDLQPurgeCmd(g *globals) *cobra.Command {
	var ff filterFlags
	var dryRun bool
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:   "purge (ID... | filters | --older-than DUR | --all)",
		Short: "Delete dead letters",
		RunE: func(cmd *cobra.Command, args []string) error {
			if olderThan < 0 {
				return usageErr("--older-than must be positive")
			}
			if olderThan > 0 {
				ff.all = true // the age is the selection
			}
			return runBulk(cmd.Context(), g, &ff, args, func(ctx context.Context, p *process, flt deadletter.Filter, progress func(int, int)) error {
				var n int
				var err error
				if len(args) == 0 && ff.empty() && olderThan == 0 {
					n, err = p.DLQ.PurgeAll(ctx, dryRun, progress) // --all
				} else {
					n, err = p.DLQ.Purge(ctx, args, flt, olderThan, dryRun)
				}
				if err != nil {
					return err
				}
				if dryRun {
					fmt.Fprintf(g.stdout, "would purge %d records\n", n)
				} else {
					fmt.Fprintf(g.stdout, "purged %d records\n", n)
				}
				return nil
			})
		},
	}
	ff.bind(cmd.Flags(), true)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be purged; change nothing")
	cmd.Flags().DurationVar(&olderThan, "older-than", 0, "purge records dead-lettered more than this long ago")
	return cmd
}

// runBulk checks the selection (IDs, filters, or an explicit --all), opens
// the process and runs fn with a progress bar on terminals.
func runBulk(ctx context.Context, g *globals, ff *filterFlags, ids []string, fn func(context.Context, *process, deadletter.Filter, func(int, int)) error) error {
	if len(ids) > 0 && !ff.empty() {
		return usageErr("give record IDs or filters, not both")
	}
	if len(ids) == 0 && ff.empty() && !ff.all {
		return usageErr("select records: IDs, filters (--tenant, --code, ...), or --all for every record")
	}
	flt, err := ff.filter()
	if err != nil {
		return err
	}
	p, err := g.open(ctx, app.Options{}, tenantsRegistry)
	if err != nil {
		return err
	}
	defer p.Close()
	var bar *progressbar.ProgressBar
	progress := func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(g.stderr), progressbar.OptionShowCount(),
				progressbar.OptionSetVisibility(isTerminal(g.stderr)), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
	}
	err = fn(ctx, p, flt, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	return err
}
