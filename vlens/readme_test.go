package vlens

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// The README's classification table is documentation users rely on: every
// code of the default table must appear there with its class and category.
func TestReadmeListsEveryDefaultCode(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ class, category string }
	rows := map[int]row{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 {
			continue
		}
		key := strings.TrimSpace(cells[1])
		r := row{class: strings.Trim(strings.TrimSpace(cells[3]), "`"), category: strings.TrimSpace(cells[4])}
		for _, part := range strings.Split(key, ",") {
			part = strings.TrimSpace(part)
			from, to, isRange := strings.Cut(part, "–")
			lo, err1 := strconv.Atoi(from)
			if err1 != nil {
				continue
			}
			hi := lo
			if isRange {
				if hi, err1 = strconv.Atoi(to); err1 != nil {
					continue
				}
			}
			for c := lo; c <= hi; c++ {
				rows[c] = r
			}
		}
	}
	tab := DefaultTable()
	for code, rule := range tab.Codes {
		r, ok := rows[code]
		if !ok {
			t.Errorf("README: code %d is missing from the classification table", code)
			continue
		}
		if r.class != string(rule.Class) || r.category != string(rule.Category) {
			t.Errorf("README: code %d says %s/%s, the table says %s/%s", code, r.class, r.category, rule.Class, rule.Category)
		}
	}
}
