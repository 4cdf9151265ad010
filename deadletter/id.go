package deadletter

import (
	"crypto/rand"
	"time"
)

// crockford is the Crockford base32 alphabet used by ULIDs: sortable as
// plain strings, no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newID returns a ULID: 48 bits of milliseconds since the epoch and 80 random
// bits, as 26 characters. IDs sort by time as strings; two IDs made in the
// same millisecond differ with overwhelming probability.
func newID(t time.Time) string {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits → 26 characters of 5 bits; the first character carries 3 bits.
	var out [26]byte
	var acc uint64
	var bits uint
	j := 25
	for i := 15; i >= 0; i-- {
		acc |= uint64(b[i]) << bits
		bits += 8
		for bits >= 5 && j >= 0 {
			out[j] = crockford[acc&31]
			acc >>= 5
			bits -= 5
			j--
		}
	}
	if j >= 0 {
		out[j] = crockford[acc&31]
	}
	return string(out[:])
}
