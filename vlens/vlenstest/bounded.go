package vlenstest

// bounded is a map that forgets its oldest entries past limit, so that a
// sandbox under a long load test holds bounded state (transactions,
// business requests, OTP requests, scenario counters).
type bounded[V any] struct {
	limit int
	m     map[string]boundedEntry[V]
	order []boundedSlot // insertion ring, len <= limit
	next  int           // the slot to reuse once the ring is full
	seq   uint64
}

type boundedEntry[V any] struct {
	v   V
	seq uint64
}

type boundedSlot struct {
	key string
	seq uint64
}

func newBounded[V any](limit int) *bounded[V] {
	return &bounded[V]{limit: limit, m: map[string]boundedEntry[V]{}}
}

func (b *bounded[V]) get(k string) (V, bool) {
	e, ok := b.m[k]
	return e.v, ok
}

// put sets k; a new key may push out the oldest one.
func (b *bounded[V]) put(k string, v V) {
	if e, ok := b.m[k]; ok {
		b.m[k] = boundedEntry[V]{v: v, seq: e.seq}
		return
	}
	b.seq++
	slot := boundedSlot{key: k, seq: b.seq}
	if len(b.order) < b.limit {
		b.order = append(b.order, slot)
	} else {
		old := b.order[b.next]
		if e, ok := b.m[old.key]; ok && e.seq == old.seq {
			delete(b.m, old.key)
		}
		b.order[b.next] = slot
		b.next = (b.next + 1) % b.limit
	}
	b.m[k] = boundedEntry[V]{v: v, seq: b.seq}
}

func (b *bounded[V]) delete(k string) { delete(b.m, k) }

// each calls fn for every entry until fn returns false.
func (b *bounded[V]) each(fn func(k string, v V) bool) {
	for k, e := range b.m {
		if !fn(k, e.v) {
			return
		}
	}
}
