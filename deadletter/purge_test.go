package deadletter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPurgeByIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keep := b.mustAdd(t, newRec("p", "keep"), "p")
	gone := b.mustAdd(t, newRec("p", "gone"), "p")
	before := b.keyCount(t)

	n, err := b.store.Purge(b.ctx, []string{gone, "01MISSING"}, Filter{}, 0, true)
	if err != nil || n != 1 {
		t.Fatalf("dry run = %d, %v; want 1", n, err)
	}
	if _, err := b.store.Get(b.ctx, gone); err != nil {
		t.Fatalf("dry run deleted the record: %v", err)
	}
	n, err = b.store.Purge(b.ctx, []string{gone, "01MISSING", gone}, Filter{}, 0, false)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if _, err := b.store.Get(b.ctx, gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("purged record still readable: %v", err)
	}
	if _, err := b.store.GetByTaskID(b.ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("purged record still found by task id: %v", err)
	}
	if _, err := b.store.Payload(b.ctx, gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("purged payload still readable: %v", err)
	}
	// Record, payload and task map go; the shared index keys stay for keep.
	if after := b.keyCount(t); after != before-3 {
		t.Errorf("keys %d → %d, want 3 fewer", before, after)
	}
	if _, err := b.store.Get(b.ctx, keep); err != nil {
		t.Errorf("other record lost: %v", err)
	}
	p, _ := b.store.List(b.ctx, Filter{Tenant: "p"}, 10, "")
	if len(p.Records) != 1 || p.Records[0].ID != keep {
		t.Errorf("List after purge = %d records", len(p.Records))
	}
	// The task may dead-letter again after its record was purged.
	if _, created, err := b.store.Add(b.ctx, newRec("p", "gone"), nil); err != nil || !created {
		t.Errorf("Add after purge: created=%v, %v", created, err)
	}
}

func TestPurgeByFilterAndAge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 30 {
		rec := newRec("pf", fmt.Sprintf("pf-%d", i))
		rec.FailedAt = t0.Add(-time.Duration(i) * time.Hour) // pf-0 newest
		if i%2 == 0 {
			rec.ErrorCode = 5000
		}
		b.mustAdd(t, rec, "p")
	}
	code := Filter{Tenant: "pf", Code: 5000, HasCode: true}
	n, err := b.store.Purge(b.ctx, nil, code, 0, true)
	if err != nil || n != 15 {
		t.Fatalf("dry run by filter = %d, %v; want 15", n, err)
	}
	// Older than 10h and code 5000: i in {10? no: > 10h}: i = 12..28 even → 9 records (i=10 is exactly 10h, not older).
	n, err = b.store.Purge(b.ctx, nil, code, 10*time.Hour, false)
	if err != nil || n != 9 {
		t.Fatalf("Purge(code, older than 10h) = %d, %v; want 9", n, err)
	}
	if c, _ := b.store.Count(b.ctx, code); c != 6 {
		t.Errorf("code 5000 left: %d, want 6", c)
	}
	n, err = b.store.Purge(b.ctx, nil, Filter{}, 20*time.Hour, false)
	if err != nil || n != 5 { // i = 21, 23, 25, 27, 29
		t.Fatalf("Purge(older than 20h) = %d, %v; want 5", n, err)
	}
	if c, _ := b.store.Count(b.ctx, Filter{}); c != 16 {
		t.Errorf("records left: %d, want 16", c)
	}
	st, _ := b.store.Stats(b.ctx)
	if st.Total != 16 || st.ByCode[5000] != 6 || st.ByCode[3011] != 10 {
		t.Errorf("stats after purge: %+v", st)
	}
}

func TestPurgeManyPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 2*EachPageSize + 3
	b.bulkAdd(t, n, nil)
	got, err := b.store.Purge(b.ctx, nil, Filter{Tenant: "bulk"}, 0, false)
	if err != nil || got != n {
		t.Fatalf("Purge = %d, %v; want %d", got, err, n)
	}
	if k := b.keyCount(t); k != 0 {
		t.Errorf("%d keys left after purging everything", k)
	}
}

func TestPurgeRejectsEmptySelection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustAdd(t, newRec("x", "x-1"), "")
	for _, tt := range []struct {
		desc      string
		ids       []string
		f         Filter
		olderThan time.Duration
	}{
		{"nothing", nil, Filter{}, 0},
		{"ids and filter", []string{"a"}, Filter{Tenant: "x"}, 0},
		{"ids and age", []string{"a"}, Filter{}, time.Hour},
		{"negative age", nil, Filter{}, -time.Hour},
	} {
		_, err := b.store.Purge(b.ctx, tt.ids, tt.f, tt.olderThan, false)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: Purge = %v, want an *InputError", tt.desc, err)
		}
	}
	if c, _ := b.store.Count(b.ctx, Filter{}); c != 1 {
		t.Errorf("a refused purge deleted records: %d left", c)
	}
}

func TestCorruptRecordIsReportedAndPurgeable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.mustAdd(t, newRec("corrupt", "bad-1"), "p")
	b.rdb.Set(b.ctx, b.store.k.record(id), "{not json", 0)
	_, err := b.store.List(b.ctx, Filter{Tenant: "corrupt"}, 10, "")
	if err == nil || !strings.Contains(err.Error(), id) {
		t.Fatalf("List over a corrupt record = %v, want an error naming %s", err, id)
	}
	if n, err := b.store.Purge(b.ctx, []string{id}, Filter{}, 0, false); err != nil || n != 1 {
		t.Fatalf("Purge(corrupt) = %d, %v; want 1", n, err)
	}
	if p, err := b.store.List(b.ctx, Filter{Tenant: "corrupt"}, 10, ""); err != nil || len(p.Records) != 0 {
		t.Errorf("List after purge = %+v, %v", p, err)
	}
}
