package vlens

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinKnownValueLen is the shortest known value (in runes) that RedactText
// replaces: shorter ones ("M", "12") would blank unrelated text.
const MinKnownValueLen = 3

// maxKnownValueLen bounds a known value; longer ones are images or blobs,
// never echoed in an error message.
const maxKnownValueLen = BlobRedactThreshold

// RedactText returns free text (an error message, an error description, a
// body that is not JSON or was cut short) with personal data replaced by
// markers, as Redact does for JSON:
//
//   - every occurrence of a known value (the task's own personal data and
//     secrets, see SensitiveValues), matched case-insensitively as a whole
//     word, so a message that echoes the customer's name loses it;
//   - the value of a sensitive-named field written as "key": value (a JSON
//     body cut short keeps its structure but not its personal data);
//   - JWTs, e-mail addresses, national ID numbers and Egyptian mobile
//     numbers; a text holding a long base64 run becomes one marker.
//
// Text without any of these is returned unchanged.
func RedactText(s string, known []string) string {
	if s == "" {
		return s
	}
	s = replaceKnown(s, known)
	if strings.IndexByte(s, '"') >= 0 {
		s = redactKeyValues(s)
	}
	var r redactor
	return r.text(s)
}

// keyValueRe finds "key": value pairs in text that may be JSON cut short: a
// string value (possibly without its closing quote) or a number.
var keyValueRe = regexp.MustCompile(`"((?:[^"\\]|\\.){1,80})"\s*:\s*("(?:[^"\\]|\\.)*"?|-?[0-9][0-9.eE+-]*)`)

func redactKeyValues(s string) string {
	return keyValueRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValueRe.FindStringSubmatch(m)
		if kindOf(sub[1]) == kindPlain {
			return m
		}
		val := sub[2]
		inner := strings.TrimSuffix(strings.TrimPrefix(val, `"`), `"`)
		if inner == "" || strings.HasPrefix(inner, "[redacted ") {
			return m
		}
		return m[:len(m)-len(val)] + string(quote(marker(inner)))
	})
}

// replaceKnown replaces whole-word, case-insensitive occurrences of the
// known values, longest first.
func replaceKnown(s string, known []string) string {
	if len(known) == 0 {
		return s
	}
	lower := strings.ToLower(s)
	exact := len(lower) != len(s)
	if exact {
		// Case folding changed byte lengths (rare scripts): match exactly.
		lower = s
	}
	type span struct{ start, end int }
	var spans []span
	taken := func(a, b int) bool {
		for _, sp := range spans {
			if a < sp.end && b > sp.start {
				return true
			}
		}
		return false
	}
	for _, v := range known {
		lv := strings.ToLower(v)
		if exact {
			lv = v
		}
		if lv == "" {
			continue
		}
		for off := 0; off < len(lower); {
			i := strings.Index(lower[off:], lv)
			if i < 0 {
				break
			}
			a, b := off+i, off+i+len(lv)
			off = b
			if !wordEdge(s, a, b) || taken(a, b) {
				continue
			}
			spans = append(spans, span{a, b})
		}
	}
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var out strings.Builder
	last := 0
	for _, sp := range spans {
		out.WriteString(s[last:sp.start])
		out.WriteString(marker(s[sp.start:sp.end]))
		last = sp.end
	}
	out.WriteString(s[last:])
	return out.String()
}

// wordEdge reports whether s[a:b] is not glued to a letter or digit on
// either side.
func wordEdge(s string, a, b int) bool {
	if a > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:a])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if b < len(s) {
		r, _ := utf8.DecodeRuneInString(s[b:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// SensitiveValues returns the values Redact would hide in the JSON document
// raw (personal data and secrets: names, ID numbers, phone numbers, OTP
// codes, the values inside requestFieldsValues, ...), as text, longest
// first, without duplicates, for RedactText. A value of several words also
// yields each word of at least MinKnownValueLen runes, so a message that
// echoes only a first name loses it too. Images and values longer than
// BlobRedactThreshold are left out. raw that is not JSON gives nil.
func SensitiveValues(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	set := map[string]bool{}
	collectSensitive(v, kindPlain, set, 0)
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

func collectSensitive(v any, k fieldKind, set map[string]bool, depth int) {
	if depth > maxRedactDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		// {"field": "idNumber", "value": "..."}: the value is sensitive.
		valueSensitive := false
		for _, key := range []string{"field", "key", "fieldName", "property", "name"} {
			if f, ok := x[key].(string); ok && kindOf(f) != kindPlain {
				valueSensitive = true
			}
		}
		for key, val := range x {
			vk := k
			if k != kindContainer && k != kindSecret {
				vk = kindOf(key)
				if vk == kindPlain && valueSensitive {
					switch normKey(key) {
					case "value", "values", "val":
						vk = kindSecret
					}
				}
			}
			collectSensitive(val, vk, set, depth+1)
		}
	case []any:
		for _, e := range x {
			collectSensitive(e, k, set, depth+1)
		}
	case string:
		if k == kindSecret || k == kindContainer {
			addKnown(set, x)
		}
	case json.Number:
		if k == kindSecret || k == kindContainer {
			addKnown(set, x.String())
		}
	}
}

func addKnown(set map[string]bool, s string) {
	s = strings.TrimSpace(s)
	if len(s) > maxKnownValueLen || utf8.RuneCountInString(s) < MinKnownValueLen {
		return
	}
	set[s] = true
	words := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == '-' || r == '/' })
	if len(words) < 2 {
		return
	}
	for _, w := range words {
		if utf8.RuneCountInString(w) >= MinKnownValueLen {
			set[w] = true
		}
	}
}
