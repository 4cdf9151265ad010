package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

// SkipValue ends every valid value exactly where encoding/json's Decoder
// does, with strings holding escaped quotes, brackets and backslashes.
func TestSkipValue(t *testing.T) {
	for _, v := range []string{
		`"plain"`, `"a \"quoted\" ]} word"`, `"ends in a backslash \\"`, `"\\\\\"x"`, `"é\u00e9"`,
		`{}`, `[]`, `{"a":[1,{"b":"}]"}],"c":null}`, `[[[["x"]]],{"y":[]}]`,
		`0`, `-1.5e+3`, `true`, `false`, `null`,
	} {
		doc := []byte(`[` + v + ` , 1]`)
		if !json.Valid(doc) {
			t.Fatalf("test value %s is not valid JSON", v)
		}
		end := SkipValue(doc, 1)
		if got := string(doc[1:end]); got != v {
			t.Errorf("SkipValue over %s stopped at %q", v, got)
		}
		if k, want := Kind(doc[1:end]), kindByDecoding(t, v); k != want {
			t.Errorf("Kind(%s) = %s, want %s", v, k, want)
		}
	}
	if Kind([]byte("  ")) != "nothing" {
		t.Error(`Kind("  ") is not "nothing"`)
	}
	if got := SkipSpace([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("SkipSpace = %d, want 5", got)
	}
	// Truncated input ends at the end, never past it.
	for _, bad := range []string{`"open`, `{"a":[1,`, `tru`} {
		if end := SkipValue([]byte(bad), 0); end != len(bad) {
			t.Errorf("SkipValue(%q) = %d, want %d", bad, end, len(bad))
		}
	}
}

func kindByDecoding(t *testing.T, v string) string {
	t.Helper()
	var x any
	if err := json.NewDecoder(bytes.NewReader([]byte(v))).Decode(&x); err != nil {
		t.Fatal(err)
	}
	switch x.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "number"
}
