package vlenstest

import (
	"testing"
)

func TestBounded(t *testing.T) {
	t.Parallel()
	b := newBounded[int](3)
	b.put("a", 1)
	b.put("b", 2)
	b.put("c", 3)
	b.put("a", 10) // update: keeps its place
	b.put("d", 4)  // pushes out the oldest: a
	if _, ok := b.get("a"); ok {
		t.Fatal("a survived past the limit")
	}
	for k, want := range map[string]int{"b": 2, "c": 3, "d": 4} {
		if got, ok := b.get(k); !ok || got != want {
			t.Fatalf("%s = %d, %v; want %d", k, got, ok, want)
		}
	}

	// A deleted and re-added key is not evicted through its old slot.
	c := newBounded[int](3)
	c.put("a", 1)
	c.put("b", 2)
	c.put("c", 3)
	c.delete("b")
	c.put("b", 20) // new slot; evicts a
	c.put("x", 9)  // reuses b's old slot: the new b must stay
	if got, ok := c.get("b"); !ok || got != 20 {
		t.Fatalf("re-added b = %d, %v; want 20", got, ok)
	}
	if _, ok := c.get("a"); ok {
		t.Fatal("a survived")
	}
	if len(c.m) != 3 {
		t.Fatalf("%d entries, want 3 (b, c, x)", len(c.m))
	}
	n := 0
	b.each(func(string, int) bool { n++; return true })
	if n != len(b.m) {
		t.Fatalf("each visited %d of %d", n, len(b.m))
	}
}
