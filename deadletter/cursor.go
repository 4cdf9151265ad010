package deadletter

import (
	"strconv"
	"strings"
)

// position is a place in an index walk: the score (failed_at in ms) and
// member (record id) of the last item seen. The walk continues strictly after
// it in newest-first order: lower scores, or the same score and a smaller id.
type position struct {
	score int64
	id    string
	set   bool
}

// String is the opaque cursor "score:id".
func (p position) String() string {
	if !p.set {
		return ""
	}
	return strconv.FormatInt(p.score, 10) + ":" + p.id
}

// parseCursor reads a cursor made by position.String; "" is the start.
func parseCursor(s string) (position, error) {
	if s == "" {
		return position{}, nil
	}
	sc, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return position{}, inputErr("cursor", s, "malformed (use the next_cursor of the previous page)")
	}
	n, err := strconv.ParseInt(sc, 10, 64)
	if err != nil {
		return position{}, inputErr("cursor", s, "malformed (use the next_cursor of the previous page)")
	}
	return position{score: n, id: id, set: true}, nil
}

// after reports whether (score, id) comes strictly after p in newest-first
// order.
func (p position) after(score int64, id string) bool {
	if !p.set {
		return true
	}
	return score < p.score || (score == p.score && id < p.id)
}
