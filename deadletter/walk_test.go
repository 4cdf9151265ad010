package deadletter

import (
	"fmt"
	"testing"
	"time"
)

// TestWalkSurvivesChangesBetweenBatches removes and inserts records in the
// same millisecond between the batches of one walk: every record present
// throughout is visited exactly once.
func TestWalkSurvivesChangesBetweenBatches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := t0.Add(-time.Minute)
	var ids []string
	for i := range 40 {
		rec := newRec("walk", fmt.Sprintf("w-%d", i))
		rec.FailedAt = at
		ids = append(ids, b.mustAdd(t, rec, ""))
	}
	p, err := b.store.plan(b.ctx, Filter{Tenant: "walk"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	removed := map[string]bool{}
	batches := 0
	err = b.store.walk(b.ctx, p, position{}, 5, func(hs []hit) (bool, error) {
		batches++
		for _, h := range hs {
			seen[h.id]++
		}
		switch batches {
		case 1, 3:
			// Remove a record already visited (shifts the offset)...
			victim := hs[0].id
			if _, err := b.store.removeIDs(b.ctx, []string{victim}); err != nil {
				return false, err
			}
			removed[victim] = true
		case 2:
			// ...and insert one in the same millisecond.
			rec := newRec("walk", "w-late")
			rec.FailedAt = at
			b.mustAdd(t, rec, "")
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if batches < 4 {
		t.Fatalf("only %d batches: the test did not exercise resuming", batches)
	}
	// Removed records were visited before their removal: every original
	// record is visited once.
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("record %s (removed during the walk: %v) visited %d times", id, removed[id], seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("record %s visited %d times", id, n)
		}
	}
}
