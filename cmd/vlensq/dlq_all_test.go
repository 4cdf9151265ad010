package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/redistest"
)

// requeue --all and purge --all act on every record (dry run first); the
// export file is the owner's only; a CSV cell cannot become a formula.
func TestDLQAllExportModeAndCSVInjection(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBCmd)
	// Start from an empty store: --all means every record of the database.
	store, err := deadletter.New(rdb, deadletter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PurgeAll(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	q := uniqueQueue(t)
	payload := []byte(`{"tenant":"demo-fintech","idNumber":"29001011234567","name":"Amira"}`)
	formulas := []string{"=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd"}
	for i, msg := range formulas {
		rec := &deadletter.Record{
			TaskID: fmt.Sprintf("%s-t%d", q, i), Queue: q, Type: "ocr:aml", Tenant: "demo-fintech",
			ErrorCode: 3011, ErrorMessage: msg, Class: "permanent", Category: "identity_verification",
			FailedAt: time.Now().UTC(),
		}
		if _, _, err := store.Add(ctx, rec, payload); err != nil {
			t.Fatal(err)
		}
	}
	n := len(formulas)

	out := filepath.Join(t.TempDir(), "dl.csv")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := c.run("", "dlq", "export", "--format", "csv", "--out", out); code != 0 {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("export file mode = %v (%v), want 0600", st.Mode().Perm(), err)
	}
	f, _ := os.Open(out)
	rows, err := csv.NewReader(f).ReadAll()
	_ = f.Close()
	if err != nil || len(rows) != n+1 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts with a formula character", cell)
			}
		}
		if msg := row[9]; !strings.HasPrefix(msg, "'") {
			t.Errorf("error_message cell %q is not neutralised", msg)
		}
	}

	// A requeue checks the tenant against the registry a worker publishes.
	publishDemoTenants(t)
	code, stdout, stderr := c.run("", "dlq", "requeue", "--all", "--dry-run")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("matched %d, would requeue %d", n, n)) {
		t.Fatalf("requeue --all --dry-run: exit %d out %q err %q", code, stdout, stderr)
	}
	code, stdout, stderr = c.run("", "dlq", "requeue", "--all", "--rate", "1000")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("matched %d, requeued %d", n, n)) {
		t.Fatalf("requeue --all: exit %d out %q err %q", code, stdout, stderr)
	}
	// Idempotent per record: a second run skips them all.
	code, stdout, _ = c.run("", "dlq", "requeue", "--all", "--rate", "1000")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("requeued 0, skipped %d", n)) {
		t.Fatalf("second requeue --all: exit %d out %q", code, stdout)
	}
	code, stdout, _ = c.run("", "dlq", "purge", "--all", "--dry-run")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("would purge %d records", n)) {
		t.Fatalf("purge --all --dry-run: exit %d out %q", code, stdout)
	}
	code, stdout, _ = c.run("", "dlq", "purge", "--all")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("purged %d records", n)) {
		t.Fatalf("purge --all: exit %d out %q", code, stdout)
	}
	if left, err := store.Count(ctx, deadletter.Filter{}); err != nil || left != 0 {
		t.Errorf("%d records left after purge --all (%v)", left, err)
	}
}
