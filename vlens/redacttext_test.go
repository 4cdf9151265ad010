package vlens

import (
	"strings"
	"testing"
)

func TestRedactText(t *testing.T) {
	known := SensitiveValues([]byte(`{"name":"Ali Hassan","idNumber":"29912251401234","country":"EG",
		"requestFieldsValues":[{"field":"mother","value":"Mona Salem"}],"image":"` + strings.Repeat("A", 300) + `"}`))
	for _, want := range []string{"Ali Hassan", "Hassan", "Ali", "29912251401234", "Mona Salem"} {
		found := false
		for _, k := range known {
			found = found || k == want
		}
		if !found {
			t.Errorf("SensitiveValues = %q, lacks %q", known, want)
		}
	}
	for _, k := range known {
		if k == "EG" || len(k) > BlobRedactThreshold {
			t.Errorf("SensitiveValues holds %q", k)
		}
	}
	cases := []struct{ in, gone, kept string }{
		{"name ALI HASSAN does not match", "ALI HASSAN", "does not match"},
		{"validation of ali failed", "ali ", "validation"}, // "ali" inside "validation" stays
		{"mother Mona Salem unknown", "Mona", "unknown"},
		{`{"data":{"fullName":"Somebody Else","nationalId":"2991`, "Somebody", `"fullName":`},
		{"id 29912251401234 and mail a.b@example.com", "29912251401234", "id "},
		{"id 29912251401234 and mail a.b@example.com", "a.b@example.com", "and mail"},
	}
	for _, c := range cases {
		got := RedactText(c.in, known)
		if strings.Contains(got, c.gone) || !strings.Contains(got, c.kept) {
			t.Errorf("RedactText(%q) = %q: want %q gone and %q kept", c.in, got, c.gone, c.kept)
		}
	}
	// Markers are not redacted again.
	once := RedactText(`{"name":"Ali Hassan"}`, nil)
	if twice := RedactText(once, nil); twice != once {
		t.Errorf("second pass changed %q to %q", once, twice)
	}
}
