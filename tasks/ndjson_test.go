package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	front := b64(fakeJPEG(512, 601))
	l, err := ParseLine([]byte(`{"type":"verify:id_front","tenant":"acme","queue":"kyc","id":"o-1",` +
		`"payload":{"user":"u-1","image":"` + front + `","transaction_id":"tx"}}` + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Line{Type: TypeVerifyIDFront, Tenant: "acme", Queue: "kyc", ID: "o-1",
		Payload: &Payload{Tenant: "acme", User: "u-1", Image: InlineImage(front), TransactionID: TextID("tx")}}
	if d := cmp.Diff(want, l); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff(BatchItem{Type: TypeVerifyIDFront, Payload: l.Payload, Options: EnqueueOptions{Queue: "kyc", ID: "o-1"}}, l.Item()); d != "" {
		t.Errorf("Item (-want +got):\n%s", d)
	}

	// The tenant may be given in the payload only.
	l, err = ParseLine([]byte(`{"type":"ocr:aml","payload":{"tenant":"globex","idNumber":"1","name":"n"}}`))
	if err != nil || l.Tenant != "globex" || l.Payload.Tenant != "globex" {
		t.Errorf("tenant from payload: %+v, %v", l, err)
	}
	// A byte-order mark is ignored.
	if _, err := ParseLine([]byte("\xef\xbb\xbf" + `{"type":"ocr:aml","tenant":"a","payload":{"idNumber":"1","name":"n"}}`)); err != nil {
		t.Errorf("line with BOM: %v", err)
	}
}

func TestParseLineErrors(t *testing.T) {
	t.Parallel()
	aml := `"payload":{"idNumber":"1","name":"n"}`
	tests := []struct {
		desc string
		line string
		want ValidationError
	}{
		{"malformed", `{"type":"ocr:aml",`, ValidationError{"", "malformed JSON: unexpected end of JSON input (at byte 18)"}},
		{"garbage", `hello`, ValidationError{"", "malformed JSON: invalid character 'h' looking for beginning of value (at byte 1)"}},
		{"array", `[{"type":"ocr:aml"}]`, ValidationError{"", "must be a JSON object, got array"}},
		{"invalid UTF-8", "{\"type\":\"ocr:aml\",\"tenant\":\"a\xc3\x28\"," + aml + "}", ValidationError{"", "not valid UTF-8 (at byte 29)"}},
		{"no type", `{"tenant":"a",` + aml + `}`, ValidationError{"type", "required"}},
		{"type number", `{"type":7,"tenant":"a",` + aml + `}`, ValidationError{"type", "must be a string, got number"}},
		{"unknown type", `{"type":"ocr:selfie","tenant":"a",` + aml + `}`,
			ValidationError{"type", `unknown task type "ocr:selfie" (known: ` + strings.Join(Types(), ", ") + ")"}},
		{"no payload", `{"type":"ocr:aml","tenant":"a"}`, ValidationError{"payload", "required"}},
		{"null payload", `{"type":"ocr:aml","tenant":"a","payload":null}`, ValidationError{"payload", "required"}},
		{"payload string", `{"type":"ocr:aml","tenant":"a","payload":"x"}`, ValidationError{"payload", "must be a JSON object, got string"}},
		{"unknown line member", `{"type":"ocr:aml","tenant":"a","priority":1,` + aml + `}`, ValidationError{"priority", "unknown field"}},
		{"queue number", `{"type":"ocr:aml","tenant":"a","queue":3,` + aml + `}`, ValidationError{"queue", "must be a string, got number"}},
		{"bad queue", `{"type":"ocr:aml","tenant":"a","queue":"{x}",` + aml + `}`, ValidationError{"queue", "must not contain { or }"}},
		{"id number", `{"type":"ocr:aml","tenant":"a","id":42,` + aml + `}`, ValidationError{"id", "must be a string, got number"}},
		{"no tenant", `{"type":"ocr:aml",` + aml + `}`, ValidationError{"tenant", "required (in the line or in the payload)"}},
		{"tenants disagree", `{"type":"ocr:aml","tenant":"acme","payload":{"tenant":"globex","idNumber":"1","name":"n"}}`,
			ValidationError{"payload.tenant", `"globex" disagrees with the line's tenant "acme"`}},
		{"payload wrong type", `{"type":"business:create","tenant":"a","payload":{"type_id":"3"}}`, ValidationError{"payload.type_id", "must be an integer, got string"}},
		{"payload image number", `{"type":"ocr:id_front","tenant":"a","payload":{"image":1,"country":"EG"}}`,
			ValidationError{"payload.image", `must be a base64 string or a blob reference {"blob","size","type"}, got number`}},
		{"payload bad base64", `{"type":"ocr:id_front","tenant":"a","payload":{"image":"/9j/*AAQ","country":"EG"}}`,
			ValidationError{"payload.image", "not valid base64 (at byte 4)"}},
		{"payload missing field", `{"type":"ocr:aml","tenant":"a","payload":{"name":"n"}}`, ValidationError{"payload.idNumber", "required for ocr:aml"}},
		{"payload unknown member", `{"type":"ocr:aml","tenant":"a","payload":{"idNumber":"1","name":"n","nmae":"x"}}`,
			ValidationError{"payload.nmae", "unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLine([]byte(tt.line))
			if err == nil {
				t.Fatalf("parsed %+v", l)
			}
			if d := cmp.Diff(tt.want, *asValidation(t, err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// delivered records what ScanFile hands to its callback.
type delivered struct {
	lines []int
	ids   []string
}

func (d *delivered) fn(n int, l Line) error {
	d.lines = append(d.lines, n)
	d.ids = append(d.ids, l.ID)
	return nil
}

func lineErrorsText(errs []LineError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestScanFile(t *testing.T) {
	t.Parallel()
	good := func(id string) string {
		return `{"type":"ocr:aml","tenant":"acme","id":"` + id + `","payload":{"idNumber":"1","name":"n"}}`
	}
	file := strings.Join([]string{
		good("a"),           // 1
		`{"type":"ocr:aml"`, // 2 malformed
		"",                  // 3 blank
		good("b") + "\r",    // 4 CRLF
		`{"type":"ocr:x","tenant":"acme","payload":{}}`, // 5 unknown type
		"   ",             // 6 blank
		good("c"),         // 7
		good("reject-me"), // 8 the callback refuses it
		good("d"),         // 9, no final newline
	}, "\n")
	var d delivered
	errs := ScanFile(strings.NewReader(file), func(n int, l Line) error {
		if l.ID == "reject-me" {
			return errors.New("enqueue: redis down")
		}
		return d.fn(n, l)
	})
	if diff := cmp.Diff([]int{1, 4, 7, 9}, d.lines); diff != "" {
		t.Errorf("delivered lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d"}, d.ids); diff != "" {
		t.Errorf("delivered ids (-want +got):\n%s", diff)
	}
	want := []string{
		"line 2: malformed JSON: unexpected end of JSON input (at byte 17)",
		`line 5: type: unknown task type "ocr:x" (known: ` + strings.Join(Types(), ", ") + ")",
		"line 8: enqueue: redis down",
	}
	if diff := cmp.Diff(want, lineErrorsText(errs)); diff != "" {
		t.Errorf("line errors (-want +got):\n%s", diff)
	}
	if _, ok := errors.AsType[*ValidationError](errs[0]); !ok {
		t.Errorf("line error does not unwrap to *ValidationError: %v", errs[0])
	}
}

func TestScanFileLongLines(t *testing.T) {
	t.Parallel()
	good := `{"type":"ocr:aml","tenant":"acme","payload":{"idNumber":"1","name":"n"}}`
	long := `{"type":"ocr:aml","tenant":"acme","payload":{"idNumber":"` + strings.Repeat("9", 300_000) + `","name":"n"}}`
	var d delivered
	errs := ScanConfig{MaxLineBytes: 1000}.ScanFile(strings.NewReader(good+"\n"+long+"\r\n"+good+"\n"+long), d.fn)
	if diff := cmp.Diff([]int{1, 3}, d.lines); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	n := len(long)
	want := []string{
		fmt.Sprintf("line 2: line is %d bytes, over the 1000-byte limit", n),
		fmt.Sprintf("line 4: line is %d bytes, over the 1000-byte limit", n),
	}
	if diff := cmp.Diff(want, lineErrorsText(errs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A 50 MB line of base64 is handled: rejected with one clear line, without
// stopping the scan.
func TestScanFile50MBLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	good := `{"type":"ocr:aml","tenant":"acme","payload":{"idNumber":"1","name":"n"}}`
	buf.WriteString(good + "\n")
	buf.WriteString(`{"type":"ocr:id_front","tenant":"acme","payload":{"country":"EG","image":"`)
	// 50 MB of base64 (a JPEG header, then filler): rejected on its size.
	buf.WriteString("/9j/4AAQ")
	buf.Write(bytes.Repeat([]byte("QUJD"), (50<<20)/4))
	buf.WriteString("\"}}\n" + good + "\n")
	if buf.Len() < 50<<20 {
		t.Fatalf("test line is only %d bytes", buf.Len())
	}
	start := time.Now()
	var d delivered
	errs := ScanFile(&buf, d.fn)
	t.Logf("scanned %d MB in %v", 50, time.Since(start))
	if diff := cmp.Diff([]int{1, 3}, d.lines); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	want := []string{"line 2: payload.image: image is 37.5 MB decoded, over the 5 MB limit"}
	if diff := cmp.Diff(want, lineErrorsText(errs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// errReader fails after its data.
type errReader struct{ r io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errors.New("disk on fire")
	}
	return n, err
}

func TestScanFileReadError(t *testing.T) {
	t.Parallel()
	good := `{"type":"ocr:aml","tenant":"acme","payload":{"idNumber":"1","name":"n"}}`
	var d delivered
	errs := ScanFile(errReader{strings.NewReader(good + "\n" + good + "\n" + `{"type"`)}, d.fn)
	if diff := cmp.Diff([]int{1, 2}, d.lines); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	want := []string{"line 3: malformed JSON: unexpected end of JSON input (at byte 7)", "line 3: read: disk on fire"}
	if diff := cmp.Diff(want, lineErrorsText(errs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseLineImageFiles(t *testing.T) {
	t.Parallel()
	line := []byte(`{"type":"ocr:id_front","tenant":"acme","payload":{"image":"@front.jpg","country":"EG"}}`)
	if _, err := ParseLine(line); err == nil || asValidation(t, err).Field != "payload.image" ||
		!strings.Contains(err.Error(), "read only by vlensq enqueue") {
		t.Errorf("without a reader: %v", err)
	}
	var asked string
	c := ScanConfig{ReadImage: func(name string) ([]byte, error) { asked = name; return fakeJPEG(1024, 5), nil }}
	l, err := c.ParseLine(line)
	if err != nil || asked != "front.jpg" {
		t.Fatalf("ParseLine: %v (asked %q)", err, asked)
	}
	if want := ImageBytes(fakeJPEG(1024, 5)).Inline; l.Payload.Image.Inline != want {
		t.Error("the image is not the file's bytes")
	}
	c.ReadImage = func(string) ([]byte, error) { return nil, errors.New("no such file") }
	if _, err := c.ParseLine(line); err == nil || err.Error() != "payload.image: image file: no such file" {
		t.Errorf("unreadable file: %v", err)
	}
}

func TestParseLineTraceparent(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	l, err := ParseLine([]byte(`{"type":"ocr:aml","tenant":"a","traceparent":"` + tp + `","payload":{"idNumber":"1","name":"n"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if l.Traceparent != tp || l.Item().Options.Traceparent != tp {
		t.Errorf("line traceparent = %q, item's = %q", l.Traceparent, l.Item().Options.Traceparent)
	}
	_, err = ParseLine([]byte(`{"type":"ocr:aml","tenant":"a","traceparent":"00-abc","payload":{"idNumber":"1","name":"n"}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "traceparent" {
		t.Errorf("bad traceparent: %v, want a ValidationError on traceparent", err)
	}
}

func TestTaskHeadersCarryTheTraceContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	p := &Payload{Tenant: "acme", IDNumber: "1", Name: "n"}
	info, err := b.client.Enqueue(ctx, TypeOCRAML, p, EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Headers["traceparent"] != "" {
		t.Errorf("untraced task has headers %v", info.Headers)
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	info, err = b.client.Enqueue(ctx, TypeOCRAML, p, EnqueueOptions{Traceparent: tp, Link: tp})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := b.inspector.GetTaskInfo(b.queue, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h := stored.Headers; h["traceparent"] != tp || h["vlensq-link"] != tp || h["vlensq-ready-at"] == "" {
		t.Errorf("stored headers = %v", h)
	}
	if bytes.Contains(stored.Payload, []byte(tp[3:35])) {
		t.Error("the trace context is in the payload")
	}
	_, err = b.client.Enqueue(ctx, TypeOCRAML, p, EnqueueOptions{Link: "nope"})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "link" {
		t.Errorf("bad link: %v, want a ValidationError on link", err)
	}
}
