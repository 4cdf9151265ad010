package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/tasks"
)

type enqueueOpts struct {
	typ, tenant, payload, queue, id, file string
	traceparent                           string
	batch                                 int
}

func newEnqueueCmd(g *globals) *cobra.Command {
	o := &enqueueOpts{}
	cmd := &cobra.Command{
		Use:   "enqueue",
		Short: "Put tasks on a queue: one (--type/--tenant/--payload) or many (--file tasks.ndjson)",
		Long: `enqueue validates and enqueues tasks. Images are moved to the claim-check store, so the queue
holds only references.

One task:   vlensq enqueue --type ocr:id_front --tenant acme --payload '{"image":"<base64>","country":"EG"}'
            (--payload @file.json reads the payload from a file)
Many tasks: vlensq enqueue --file tasks.ndjson
            one JSON object per line: {"type","tenant","payload","queue"?,"id"?,"traceparent"?}

An image may be given by file name instead of base64: "front_image":"@front.jpg" is read by
this command, relative to the NDJSON file's directory (to the payload file's with
--payload @file.json, else to the working directory); absolute paths work too.

An --id (or a line's "id") becomes the task id: enqueueing the same id twice is reported as a
duplicate and not enqueued again. --traceparent (or a line's "traceparent") is a W3C trace
context (00-<trace id>-<span id>-<flags>): the task's spans continue that trace when the worker
traces (OTEL_* settings). A bad line is reported with its line number and nothing is
enqueued from it; the other lines are. Exit code 2 when any input was bad.

Needs: VLENSQ_REDIS, and to know the tenants (names and limits, never their secrets): the tenants
file when --tenants / VLENSQ_TENANTS is given or tenants.json exists (its secret fields may be
absent and are never read), else the tenants registry the workers publish to Redis.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.file != "" {
				if o.typ != "" || o.payload != "" || o.id != "" {
					return usageErr("--file cannot be combined with --type, --payload or --id")
				}
				if o.traceparent != "" {
					if _, err := tracing.ParseTraceparent(o.traceparent); err != nil {
						return usageErr("--traceparent: %v", err)
					}
				}
				return runEnqueueFile(cmd.Context(), g, o)
			}
			return runEnqueueOne(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.typ, "type", "", "task type, e.g. verify:id_front (see the README for all types)")
	f.StringVar(&o.tenant, "tenant", "", "tenant name from the tenants file")
	f.StringVar(&o.payload, "payload", "", "payload JSON, or @file.json")
	f.StringVar(&o.queue, "queue", "", "queue (default: \"default\"; a --file line's \"queue\" wins)")
	f.StringVar(&o.id, "id", "", "task id, for idempotent enqueueing")
	f.StringVar(&o.file, "file", "", "NDJSON file of tasks, or - for stdin")
	f.StringVar(&o.traceparent, "traceparent", "", "W3C trace context the task's spans continue (a --file line's \"traceparent\" wins)")
	f.IntVar(&o.batch, "batch", 500, "tasks enqueued together when reading a file")
	return cmd
}

func runEnqueueOne(ctx context.Context, g *globals, o *enqueueOpts) error {
	switch {
	case o.typ == "":
		return usageErr("--type is required (or use --file)")
	case o.tenant == "":
		return usageErr("--tenant is required")
	case o.payload == "":
		return usageErr("--payload is required: JSON, or @file.json")
	}
	raw, imageDir := []byte(o.payload), "."
	if strings.HasPrefix(o.payload, "@") {
		var err error
		if raw, err = os.ReadFile(o.payload[1:]); err != nil {
			return usageErr("--payload: %v", err)
		}
		imageDir = filepath.Dir(o.payload[1:])
	}
	if !json.Valid(raw) {
		return usageErr("--payload: not valid JSON")
	}
	// One code path for both forms: a single task is a one-line file.
	line, err := tasks.ScanConfig{ReadImage: imageReader(imageDir)}.ParseLine(lineJSON(o.typ, o.tenant, raw, o.queue, o.id, o.traceparent))
	if err != nil {
		return badInput(err)
	}
	p, err := g.open(ctx, app.Options{}, tenantsPublic)
	if err != nil {
		return err
	}
	defer p.Close()
	info, err := p.Tasks.Enqueue(ctx, line.Type, line.Payload, line.Item().Options)
	if errors.Is(err, tasks.ErrDuplicateID) {
		fmt.Fprintf(g.stdout, "duplicate: task %s is already enqueued; not enqueued again\n", line.ID)
		return nil
	}
	var ve *tasks.ValidationError
	if errors.As(err, &ve) && ve.Field == "tenant" {
		return badInput(fmt.Errorf("%w (%s)", err, unknownTenantHint(p.Directory)))
	}
	if errors.As(err, &ve) {
		return badInput(err)
	}
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	fmt.Fprintf(g.stdout, "enqueued %s id=%s queue=%s\n", info.Type, info.ID, info.Queue)
	return nil
}

// lineJSON renders single-task flags as one NDJSON line.
func lineJSON(typ, tenant string, payload []byte, queue, id, traceparent string) []byte {
	b, _ := json.Marshal(struct {
		Type        string          `json:"type"`
		Tenant      string          `json:"tenant"`
		Payload     json.RawMessage `json:"payload"`
		Queue       string          `json:"queue,omitempty"`
		ID          string          `json:"id,omitempty"`
		Traceparent string          `json:"traceparent,omitempty"`
	}{typ, tenant, payload, queue, id, traceparent})
	return b
}

type enqueueSummary struct {
	enqueued, duplicates int
	bad                  []tasks.LineError
	failed               []tasks.LineError
}

func runEnqueueFile(ctx context.Context, g *globals, o *enqueueOpts) error {
	var in io.Reader
	size := int64(-1)
	if o.file == "-" {
		in = g.stdin
	} else {
		f, err := os.Open(o.file)
		if err != nil {
			return usageErr("--file: %v", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	p, err := g.open(ctx, app.Options{}, tenantsPublic)
	if err != nil {
		return err
	}
	defer p.Close()

	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(g.stderr),
		progressbar.OptionSetDescription("enqueue"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionSetVisibility(isTerminal(g.stderr)),
		progressbar.OptionClearOnFinish(),
	)
	reader := progressbar.NewReader(bufio.NewReaderSize(in, 1<<20), bar)

	sum := &enqueueSummary{}
	var batch []tasks.BatchItem
	var lines []int
	flush := func() {
		if len(batch) == 0 {
			return
		}
		for _, r := range p.Tasks.EnqueueBatch(ctx, batch) {
			ln := lines[r.Index]
			var ve *tasks.ValidationError
			switch {
			case r.Err == nil:
				sum.enqueued++
			case errors.Is(r.Err, tasks.ErrDuplicateID):
				sum.duplicates++
			case errors.As(r.Err, &ve):
				sum.bad = append(sum.bad, tasks.LineError{Line: ln, Err: r.Err})
			default:
				sum.failed = append(sum.failed, tasks.LineError{Line: ln, Err: r.Err})
			}
		}
		batch, lines = batch[:0], lines[:0]
	}
	imageDir := "."
	if o.file != "-" {
		imageDir = filepath.Dir(o.file)
	}
	scanErrs := tasks.ScanConfig{ReadImage: imageReader(imageDir)}.ScanFile(&reader, func(n int, l tasks.Line) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, tasks.BatchItem{Type: l.Type, Payload: l.Payload, Options: tasks.EnqueueOptions{Queue: cmp.Or(l.Queue, o.queue), ID: l.ID,
			Traceparent: cmp.Or(l.Traceparent, o.traceparent)}})
		lines = append(lines, n)
		if len(batch) >= max(1, o.batch) {
			flush()
		}
		return nil
	})
	flush()
	_ = bar.Finish()
	sum.bad = append(sum.bad, scanErrs...)
	return sum.report(g.stdout)
}

// report prints the summary and returns the exit status error.
func (s *enqueueSummary) report(w io.Writer) error {
	sort.Slice(s.bad, func(i, j int) bool { return s.bad[i].Line < s.bad[j].Line })
	fmt.Fprintf(w, "enqueued %d, duplicates %d, bad lines %d, failed %d\n", s.enqueued, s.duplicates, len(s.bad), len(s.failed))
	const show = 50
	for i, e := range s.bad {
		if i == show {
			fmt.Fprintf(w, "  … and %d more bad lines\n", len(s.bad)-show)
			break
		}
		fmt.Fprintf(w, "  line %d: %v\n", e.Line, e.Err)
	}
	for _, e := range s.failed {
		fmt.Fprintf(w, "  line %d: not enqueued: %v\n", e.Line, e.Err)
	}
	switch {
	case len(s.failed) > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d tasks could not be enqueued", len(s.failed))}
	case len(s.bad) > 0:
		return usageErr("%d bad lines; the other tasks were enqueued", len(s.bad))
	}
	return nil
}

// imageReader reads the image files NDJSON lines name ("@front.jpg"):
// relative names from dir (the NDJSON file's directory; the payload file's
// for --payload @file.json; the working directory otherwise). A file over
// the image size limit is refused before it is read.
func imageReader(dir string) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Size() > tasks.MaxImageBytes {
			return nil, fmt.Errorf("%s is %d bytes, over the %d-byte image limit", name, st.Size(), tasks.MaxImageBytes)
		}
		return io.ReadAll(io.LimitReader(f, tasks.MaxImageBytes+1))
	}
}
