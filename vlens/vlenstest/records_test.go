package vlenstest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRing(t *testing.T) {
	t.Parallel()
	r := ring[int]{limit: 3}
	if got := r.all(); len(got) != 0 {
		t.Fatalf("empty ring: %v", got)
	}
	var got [][]int
	for i := 1; i <= 5; i++ {
		r.add(i)
		got = append(got, r.all())
	}
	want := [][]int{{1}, {1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestRecordLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.RecordLimit = 3 })
	for range 5 {
		b.post(t, pathOCRFront, "", frontBody(map[string]any{"client_transaction_id": "sandbox:http503"}))
	}
	recs, inj := b.srv.Requests(), b.srv.Injections()
	if len(recs) != 3 || len(inj) != 3 {
		t.Fatalf("%d records, %d injections; want the newest 3 of each", len(recs), len(inj))
	}
}
