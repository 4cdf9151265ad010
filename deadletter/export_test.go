package deadletter

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExportNDJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []string
	for i := range 3 {
		rec := newRec("exp", fmt.Sprintf("e-%d", i))
		rec.FailedAt = t0.Add(time.Duration(i) * time.Second)
		ids = append(ids, b.mustAdd(t, rec, `{"image":"CANARY-PAYLOAD"}`))
	}
	other := newRec("other", "e-other")
	b.mustAdd(t, other, "")

	var buf bytes.Buffer
	n, err := b.store.Export(b.ctx, &buf, Filter{Tenant: "exp"}, FormatNDJSON)
	if err != nil || n != 3 {
		t.Fatalf("Export = %d, %v; want 3", n, err)
	}
	if strings.Contains(buf.String(), "CANARY-PAYLOAD") {
		t.Error("export contains the task payload")
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		var got Record
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not a record: %v", i, err)
		}
		want, _ := b.store.Get(b.ctx, ids[2-i]) // newest first
		if d := cmp.Diff(want, &got); d != "" {
			t.Errorf("line %d (-get +export):\n%s", i, d)
		}
	}
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("csv", "c-1")
	rec.ErrorMessage = "bad, \"quoted\"\nmessage"
	rec.Queue = "critical"
	rec.RequestID = "r-9"
	rec.HTTPStatus = 422
	rec.Attempts = 3
	id := b.mustAdd(t, rec, "CANARY-PAYLOAD")

	var buf bytes.Buffer
	n, err := b.store.Export(b.ctx, &buf, Filter{}, FormatCSV)
	if err != nil || n != 1 {
		t.Fatalf("Export = %d, %v; want 1", n, err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"id", "failed_at", "tenant", "type", "queue", "task_id", "class", "category", "error_code", "error_message",
			"http_status", "attempts", "transaction_id", "client_transaction_id", "request_id", "endpoint_method",
			"endpoint_url", "resolution"},
		{id, "2025-06-01T10:00:00Z", "csv", "verify:id_front", "critical", "c-1", "permanent", "identity_verification",
			"3011", "bad, \"quoted\"\nmessage", "422", "3", "tx-1", "ctx-1", "r-9", "POST",
			"https://api.vlenseg.com/api/DigitalIdentity/verify/id/front", rec.Resolution},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("CSV (-want +got):\n%s", d)
	}
}

func TestExportEmptyAndBadFormat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var buf bytes.Buffer
	n, err := b.store.Export(b.ctx, &buf, Filter{Tenant: "none"}, FormatCSV)
	if err != nil || n != 0 || buf.String() != strings.Join(CSVHeader, ",")+"\n" {
		t.Errorf("empty CSV export = %d, %v, %q; want the header only", n, err, buf.String())
	}
	_, err = b.store.Export(b.ctx, &buf, Filter{}, "xml")
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "format" {
		t.Errorf("Export(xml) = %v, want an *InputError for format", err)
	}
}

// countingWriter counts bytes and lines and keeps nothing.
type countingWriter struct{ bytes, lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += len(p)
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// failingWriter fails after limit bytes.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.limit -= len(p); w.limit < 0 {
		return 0, io.ErrShortWrite
	}
	return len(p), nil
}

func TestExportStreams(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 3*EachPageSize + 1
	b.bulkAdd(t, n, nil)
	for _, format := range []string{FormatNDJSON, FormatCSV} {
		w := &countingWriter{}
		got, err := b.store.Export(b.ctx, w, Filter{}, format)
		if err != nil || got != n {
			t.Fatalf("%s: Export = %d, %v; want %d", format, got, err, n)
		}
		wantLines := n
		if format == FormatCSV {
			wantLines++
		}
		if w.lines != wantLines {
			t.Errorf("%s: %d lines written, want %d", format, w.lines, wantLines)
		}
	}
	// The output is flushed page by page: a writer that fails part-way
	// stops the export with an error rather than after buffering everything.
	_, err := b.store.Export(b.ctx, &failingWriter{limit: 100 << 10}, Filter{}, FormatNDJSON)
	if !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Export to a failing writer = %v, want io.ErrShortWrite", err)
	}
}

func TestExportLinesAreRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("lines", "l-1")
	rec.ErrorMessage = "line1\nline2 <b>&</b>"
	b.mustAdd(t, rec, "")
	var buf bytes.Buffer
	if _, err := b.store.Export(b.ctx, &buf, Filter{}, FormatNDJSON); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	lines := 0
	for sc.Scan() {
		lines++
		if !strings.Contains(sc.Text(), `line1\nline2 <b>&</b>`) {
			t.Errorf("line %q: newline not escaped or HTML escaped", sc.Text())
		}
	}
	if lines != 1 {
		t.Errorf("%d lines, want 1", lines)
	}
}
