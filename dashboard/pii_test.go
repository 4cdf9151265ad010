package dashboard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/deadletter"
)

// Personal data in Vlens's free text (a national ID number, a mobile
// number, an e-mail address in error_message, error_descriptions or a raw
// gateway page) never reaches the dead-letter pages or API.
func TestDashboardShowsNoPersonalDataFromMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const nid, phone, mail = "29912251401234", "01012345678", "zeinab.canary@example.com"
	id := b.add(func(r *deadletter.Record) {
		r.ErrorMessage = "ID " + nid + " does not match the holder " + mail
		r.ErrorDescriptions = []string{"mobile " + phone + " is already registered"}
		r.HTTPStatus = 502
		r.Response, _ = json.Marshal("<html><body>upstream error for " + nid + " / " + phone + "</body></html>")
	})
	pages := map[string]string{
		"list page":   b.get("/dlq/", 200),
		"record page": b.get("/dlq/"+id, 200),
		"list JSON":   b.get("/api/dlq", 200),
		"record JSON": b.get("/api/dlq/"+id, 200),
	}
	for where, body := range pages {
		for _, canary := range []string{nid, phone, mail} {
			if strings.Contains(body, canary) {
				t.Errorf("%s shows %q", where, canary)
			}
		}
	}
	if !strings.Contains(pages["record page"], "[redacted ") {
		t.Errorf("record page shows no redaction marker")
	}
}
