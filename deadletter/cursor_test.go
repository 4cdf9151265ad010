package deadletter

import (
	"errors"
	"testing"
)

func TestCursor(t *testing.T) {
	t.Parallel()
	p := position{score: 1748771940000, id: "01JWNEW9N0B4TMYECYS5GXFY0V", set: true}
	if got := p.String(); got != "1748771940000:01JWNEW9N0B4TMYECYS5GXFY0V" {
		t.Errorf("String = %q", got)
	}
	back, err := parseCursor(p.String())
	if err != nil || back != p {
		t.Errorf("parseCursor(String) = %+v, %v; want %+v", back, err, p)
	}
	if start, err := parseCursor(""); err != nil || start.set || start.String() != "" {
		t.Errorf(`parseCursor("") = %+v, %v; want the start`, start, err)
	}
	for _, bad := range []string{"x", "12", "12:", ":id", "1.5:id", "abc:id"} {
		_, err := parseCursor(bad)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "cursor" {
			t.Errorf("parseCursor(%q) = %v, want an *InputError for cursor", bad, err)
		}
	}
	tests := []struct {
		score int64
		id    string
		want  bool
	}{
		{1748771940000, "01JWNEW9N0B4TMYECYS5GXFY0V", false}, // itself
		{1748771940000, "01JWNEW9N0B4TMYECYS5GXFY0W", false}, // same ms, newer id
		{1748771940000, "01JWNEW9N0B4TMYECYS5GXFY0T", true},  // same ms, older id
		{1748771939999, "ZZZ", true},                         // older ms
		{1748771940001, "000", false},                        // newer ms
	}
	for _, tt := range tests {
		if got := p.after(tt.score, tt.id); got != tt.want {
			t.Errorf("after(%d, %s) = %v, want %v", tt.score, tt.id, got, tt.want)
		}
	}
	if !(position{}).after(0, "") {
		t.Error("the start position must come before everything")
	}
}
