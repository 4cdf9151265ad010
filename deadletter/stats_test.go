package deadletter

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	empty, err := b.store.Stats(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Total != 0 || len(empty.ByTenant) != 0 || !empty.Oldest.IsZero() {
		t.Errorf("empty store stats = %+v", empty)
	}

	add := func(tenant, task string, code int, category, typ, class string, exhausted bool, at time.Time) string {
		rec := newRec(tenant, task)
		rec.ErrorCode, rec.Category, rec.Type, rec.Class, rec.RetriesExhausted, rec.FailedAt = code, category, typ, class, exhausted, at
		return b.mustAdd(t, rec, "")
	}
	add("acme", "s1", 3011, "identity_verification", "verify:id_front", "permanent", false, t0.Add(-3*time.Hour))
	add("acme", "s2", 5000, "server", "ocr:id_front", "transient", true, t0.Add(-2*time.Hour))
	gone := add("beta", "s3", 0, "network", "ocr:id_front", "transient", true, t0.Add(-time.Hour))

	got, err := b.store.Stats(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		Total: 3, RetriesExhausted: 2,
		ByCategory: map[string]int64{"identity_verification": 1, "server": 1, "network": 1},
		ByCode:     map[int]int64{3011: 1, 5000: 1, 0: 1},
		ByTenant:   map[string]int64{"acme": 2, "beta": 1},
		ByType:     map[string]int64{"verify:id_front": 1, "ocr:id_front": 2},
		ByClass:    map[string]int64{"permanent": 1, "transient": 2},
		Oldest:     t0.Add(-3 * time.Hour), Newest: t0.Add(-time.Hour),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}

	// A removed record's values leave the stats (no zero entries linger).
	if n, err := b.store.Purge(b.ctx, []string{gone}, Filter{}, 0, false); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	got, _ = b.store.Stats(b.ctx)
	if _, ok := got.ByTenant["beta"]; ok || got.ByCode[0] != 0 || got.Total != 2 || got.ByType["ocr:id_front"] != 1 {
		t.Errorf("after purge: %+v", got)
	}
	if n, _ := b.rdb.SCard(b.ctx, b.store.k.values(dimTenant)).Result(); n != 1 {
		t.Errorf("tenant value set has %d members after its only beta record went, want 1", n)
	}
}
