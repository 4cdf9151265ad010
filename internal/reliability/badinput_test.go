package reliability

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// Issue 7 §7: every bad input gets one clear line naming the problem and
// exit code 2; nothing else is lost (the good lines of a file are enqueued).
func TestBadInputGetsAClearErrorAndLosesNothingElse(t *testing.T) {
	t.Parallel()
	b := newBundle(t, bundleOpts{})
	img := vlenstest.SampleImage(4)
	good := func(i int) string {
		return fmt.Sprintf(`{"type":"ocr:id_front","tenant":%q,"queue":%q,"payload":{"image":%q,"country":"EG","client_transaction_id":"good-%d"}}`,
			b.tenant.Name, b.queue, img, i)
	}
	line := func(typ, tenant, payload string) string {
		return fmt.Sprintf(`{"type":%q,"tenant":%q,"queue":%q,"payload":%s}`, typ, tenant, b.queue, payload)
	}
	huge := line("ocr:id_front", b.tenant.Name, `{"country":"EG","image":"`+strings.Repeat("QUJD", 50<<20/4)+`"}`)
	file := []struct {
		desc, line, want string
	}{
		{"good", good(1), ""},
		{"malformed JSON", `{"type":"ocr:id_front","tenant":`, "JSON"},
		{"wrong field type", line("ocr:id_front", b.tenant.Name, `{"image":5,"country":"EG"}`), "payload.image"},
		{"unknown type", line("ocr:selfie", b.tenant.Name, `{}`), `unknown task type "ocr:selfie"`},
		{"50 MB line", huge, "payload.image"},
		{"invalid UTF-8", line("ocr:id_front", b.tenant.Name, `{"country":"E`+"\xff"+`G","image":"`+img+`"}`), "UTF-8"},
		{"missing tenant", line("ocr:id_front", "", `{"country":"EG","image":"`+img+`"}`), "tenant"},
		{"unknown tenant", line("ocr:id_front", "no-such-tenant", `{"country":"EG","image":"`+img+`"}`), `unknown tenant "no-such-tenant"`},
		{"good", good(2), ""},
	}
	var nd bytes.Buffer
	for _, l := range file {
		nd.WriteString(l.line + "\n")
	}
	path := writeFile(t, "tasks.ndjson", nd.Bytes())
	out, code := b.run(nil, "enqueue", "--file", path)
	if code != 2 {
		t.Errorf("enqueue --file with bad lines: exit %d, want 2\n%s", code, tail(out, 2000))
	}
	if !strings.Contains(out, "enqueued 2, duplicates 0, bad lines 7, failed 0") {
		t.Errorf("summary missing or wrong:\n%s", tail(out, 2000))
	}
	for i, l := range file {
		if l.want == "" {
			continue
		}
		prefix := fmt.Sprintf("line %d: ", i+1)
		j := strings.Index(out, prefix)
		if j < 0 {
			t.Errorf("%s (line %d) not reported:\n%s", l.desc, i+1, tail(out, 2000))
			continue
		}
		msg, _, _ := strings.Cut(out[j:], "\n")
		if !strings.Contains(msg, l.want) || len(msg) > 400 {
			t.Errorf("%s: %q, want one clear line containing %q", l.desc, msg, l.want)
		}
	}
	qi, err := b.insp.GetQueueInfo(b.queue)
	// Enqueued tasks wait parked for their tenant's turn (fair dispatch).
	if err != nil || qi.Size != 2 {
		t.Errorf("queue after the file: %+v %v, want the 2 good tasks in it", qi, err)
	}

	// Single commands and configuration.
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badJSON, []byte(`[{"tenancy_name": "x", "api_key": }]`), 0o600)
	noKey := filepath.Join(dir, "nokey.json")
	_ = os.WriteFile(noKey, []byte(`[{"tenancy_name": "x", "username": "u", "password": "p"}]`), 0o600)
	badCodes := filepath.Join(dir, "codes.json")
	_ = os.WriteFile(badCodes, []byte(`{"codes": {"3011": {"class": "sometimes"}}}`), 0o600)
	cases := []struct {
		desc string
		env  []string
		args []string
		want string
	}{
		{"payload not JSON", nil, []string{"enqueue", "--type", "ocr:id_front", "--tenant", b.tenant.Name, "--payload", "{nope"}, "--payload: not valid JSON"},
		{"payload wrong type", nil, []string{"enqueue", "--type", "ocr:id_front", "--tenant", b.tenant.Name, "--payload", `{"image":true}`}, "payload.image"},
		{"unknown type", nil, []string{"enqueue", "--type", "ocr:x", "--tenant", b.tenant.Name, "--payload", `{}`}, "unknown task type"},
		{"unknown tenant", nil, []string{"enqueue", "--type", "ocr:id_front", "--tenant", "ghost", "--payload", `{"image":"` + img + `","country":"EG"}`}, `unknown tenant "ghost"`},
		{"missing tenant flag", nil, []string{"enqueue", "--type", "ocr:id_front", "--payload", `{}`}, "--tenant is required"},
		{"tenants file not JSON", []string{"VLENSQ_TENANTS=" + badJSON}, []string{"worker"}, "bad.json"},
		{"tenant without api key", []string{"VLENSQ_TENANTS=" + noKey}, []string{"worker"}, "api_key"},
		{"tenants file missing", []string{"VLENSQ_TENANTS=" + filepath.Join(dir, "none.json")}, []string{"worker"}, "tenants file"},
		{"classification file invalid", []string{"VLENSQ_CODES=" + badCodes}, []string{"worker"}, "sometimes"},
		{"concurrency not a number", []string{"VLENSQ_CONCURRENCY=many"}, []string{"worker"}, "VLENSQ_CONCURRENCY"},
		{"bad queue weight", nil, []string{"worker", "--queues", "kyc=heavy"}, "--queues"},
		{"bad redis url", []string{"VLENSQ_REDIS=ftp://localhost"}, []string{"worker"}, "ftp"},
		{"bad log level", []string{"VLENSQ_LOG_LEVEL=loud"}, []string{"worker"}, "loud"},
		{"unknown flag", nil, []string{"worker", "--turbo"}, "unknown flag"},
		{"bad fault spec", nil, []string{"sandbox", "--faults", "5xx=2"}, "5xx=2"},
		{"bad dlq filter", nil, []string{"dlq", "list", "--category", "weather"}, "category"},
	}
	for _, c := range cases {
		out, code := runVlensq(t, append(b.env(), c.env...), nil, c.args...)
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, output %q; want exit 2 and a line containing %q", c.desc, code, tail(out, 600), c.want)
		} else if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
			t.Errorf("%s: a crash, not an error:\n%s", c.desc, out)
		} else {
			t.Logf("%-28s exit %d: %s", c.desc, code, first)
		}
	}
	if qi, _ := b.insp.GetQueueInfo(b.queue); qi.Size != 2 {
		t.Errorf("the bad commands changed the queue: %d tasks, want 2", qi.Size)
	}
	logf(t, "bad input: %d bad NDJSON lines (incl. a 50 MB line) and %d bad commands/configurations: each exit 2 with one line naming "+
		"the problem; the file's 2 good lines enqueued", len(file)-2, len(cases))
}
