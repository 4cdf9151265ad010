package tasks

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Line is one task of an NDJSON enqueue file:
//
//	{"type":"verify:id_front","tenant":"acme","payload":{...},"queue":"kyc","id":"order-42","traceparent":"00-…-…-01"}
//
// queue, id and traceparent are optional; tenant may be given in the line,
// in the payload, or in both when they agree. traceparent is a W3C trace
// context the task's spans continue (EnqueueOptions.Traceparent).
type Line struct {
	Type        string
	Tenant      string
	Queue       string
	ID          string
	Traceparent string
	Payload     *Payload
}

// Item returns the line as a BatchItem for Client.EnqueueBatch.
func (l Line) Item() BatchItem {
	return BatchItem{Type: l.Type, Payload: l.Payload, Options: EnqueueOptions{Queue: l.Queue, ID: l.ID, Traceparent: l.Traceparent}}
}

// lineJSON is the wire form of Line.
type lineJSON struct {
	Type    string          `json:"type"`
	Tenant  string          `json:"tenant"`
	Payload json.RawMessage `json:"payload"`
	Queue   string          `json:"queue"`
	ID      string          `json:"id"`
	// Traceparent is a W3C trace context (optional).
	Traceparent string `json:"traceparent"`
}

// ParseLine decodes and validates one NDJSON line. Invalid UTF-8, malformed
// JSON, unknown members, wrong JSON types, an unknown type, a missing tenant,
// a tenant in the line that disagrees with the payload's, a bad queue or id,
// and every Payload.Validate rule give a *ValidationError naming the field
// ("type", "tenant", "payload.image"). Whether the tenant is configured is
// checked when the Client enqueues.
func ParseLine(b []byte) (Line, error) { return ScanConfig{}.ParseLine(b) }

// ParseLine is the package's ParseLine that also reads images given by file
// name ("@front.jpg") with c.ReadImage.
func (c ScanConfig) ParseLine(b []byte) (Line, error) {
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if err := checkUTF8(b); err != nil {
		return Line{}, err
	}
	if err := checkJSON(b); err != nil {
		return Line{}, err
	}
	var lj lineJSON
	if err := decodeStrict(b, &lj, "type", "payload"); err != nil {
		return Line{}, err
	}
	if _, ok := specFor(lj.Type); !ok {
		return Line{}, unknownType(lj.Type)
	}
	p := new(Payload)
	if err := p.decodeRaw(lj.Payload); err != nil {
		return Line{}, withPrefix("payload", err)
	}
	if err := c.readImages(p); err != nil {
		return Line{}, err
	}
	switch {
	case blank(lj.Tenant) && blank(p.Tenant):
		return Line{}, &ValidationError{Field: "tenant", Problem: "required (in the line or in the payload)"}
	case blank(p.Tenant):
		p.Tenant = lj.Tenant
	case blank(lj.Tenant):
		lj.Tenant = p.Tenant
	case lj.Tenant != p.Tenant:
		return Line{}, &ValidationError{Field: "payload.tenant", Problem: fmt.Sprintf("%q disagrees with the line's tenant %q", p.Tenant, lj.Tenant)}
	}
	l := Line{Type: lj.Type, Tenant: lj.Tenant, Queue: lj.Queue, ID: lj.ID, Traceparent: lj.Traceparent, Payload: p}
	if err := l.Item().Options.validate(); err != nil {
		return Line{}, err
	}
	if err := p.Validate(l.Type); err != nil {
		return Line{}, err
	}
	return l, nil
}

// LineError is a problem with one line of an NDJSON file.
type LineError struct {
	// Line is the 1-based line number.
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns Err.
func (e LineError) Unwrap() error { return e.Err }

// MaxLineBytesDefault bounds one NDJSON line: room for a task with four
// 5 MB images inline (base64) and then some.
const MaxLineBytesDefault = 64 << 20

// ScanConfig configures ScanFile.
type ScanConfig struct {
	// MaxLineBytes bounds the length of one line; a longer line is skipped
	// and reported, never held in memory whole. Default MaxLineBytesDefault
	// (64 MiB).
	MaxLineBytes int
	// ReadImage, when set, reads the images a line gives by file name: an
	// image string "@front.jpg" (base64 never holds "@") is replaced by the
	// file's bytes. vlensq enqueue reads names relative to the NDJSON
	// file's directory. Default nil: an "@" image is refused, naming the
	// field.
	ReadImage func(name string) ([]byte, error)
}

// imageFields are the payload's image members, dotted for nested ones.
var imageFields = []string{"image", "front_image", "back_image", "face_1", "face_2", "face_3",
	"scanTransaction.image", "scanTransaction.face_1", "scanTransaction.face_2", "scanTransaction.face_3"}

// readImages replaces every "@name" image of p by the bytes c.ReadImage
// returns for name.
func (c ScanConfig) readImages(p *Payload) error {
	for _, name := range imageFields {
		slot := p.imageSlot(name)
		if slot == nil || *slot == nil || !strings.HasPrefix((*slot).Inline, "@") {
			continue
		}
		field := "payload." + name
		file := (*slot).Inline[1:]
		if c.ReadImage == nil {
			return &ValidationError{Field: field, Problem: `an image file ("@` + file + `") is read only by vlensq enqueue; send base64 or a blob reference`}
		}
		if strings.TrimSpace(file) == "" {
			return &ValidationError{Field: field, Problem: `"@" needs a file name, e.g. "@front.jpg"`}
		}
		data, err := c.ReadImage(file)
		if err != nil {
			return &ValidationError{Field: field, Problem: "image file: " + err.Error()}
		}
		*slot = ImageBytes(data)
	}
	return nil
}

// ScanFile reads NDJSON tasks with the default ScanConfig.
func ScanFile(r io.Reader, fn func(lineNo int, l Line) error) []LineError {
	return ScanConfig{}.ScanFile(r, fn)
}

// ScanFile reads r line by line, parses each non-blank line with ParseLine
// and calls fn with the good ones. It never stops at a bad line: lines that
// do not parse, that are too long, or for which fn returns an error are
// reported as LineErrors, in line order. Only a read error ends the scan
// early (reported on the line being read).
func (c ScanConfig) ScanFile(r io.Reader, fn func(lineNo int, l Line) error) []LineError {
	limit := cmp.Or(c.MaxLineBytes, MaxLineBytesDefault)
	br := bufio.NewReaderSize(r, 64<<10)
	var errs []LineError
	var buf []byte
	for lineNo := 1; ; lineNo++ {
		var n int
		var err error
		buf, n, err = readLine(br, buf[:0], limit)
		switch {
		case n > limit:
			errs = append(errs, LineError{Line: lineNo, Err: &ValidationError{
				Problem: fmt.Sprintf("line is %d bytes, over the %d-byte limit", n, limit),
			}})
		case len(bytes.TrimSpace(buf)) > 0:
			l, perr := c.ParseLine(buf)
			if perr == nil {
				perr = fn(lineNo, l)
			}
			if perr != nil {
				errs = append(errs, LineError{Line: lineNo, Err: perr})
			}
		}
		if errors.Is(err, io.EOF) {
			return errs
		}
		if err != nil {
			return append(errs, LineError{Line: lineNo, Err: fmt.Errorf("read: %w", err)})
		}
	}
}

// readLine reads one line (without its \n or \r\n) into buf. n is the
// line's full length; when n > limit the bytes past the limit were
// discarded and buf holds a prefix only. err is io.EOF after the last line.
func readLine(br *bufio.Reader, buf []byte, limit int) ([]byte, int, error) {
	n := 0
	var last2 [2]byte // the line's last two bytes, whatever was kept
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		if len(buf)+len(chunk) <= limit+2 { // room for "\r\n"
			buf = append(buf, chunk...)
		}
		switch len(chunk) {
		case 0:
		case 1:
			last2 = [2]byte{last2[1], chunk[0]}
		default:
			last2 = [2]byte{chunk[len(chunk)-2], chunk[len(chunk)-1]}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil { // the line ended with '\n'
			cut := 1
			if last2[0] == '\r' {
				cut = 2
			}
			n -= cut
			if len(buf) > n { // buf holds the whole line
				buf = buf[:n]
			}
		}
		return buf, n, err
	}
}
