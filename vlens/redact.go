package vlens

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/vlensq/vlensq/internal/jsonscan"
)

// Redaction markers. A large value (an image, a long base64 string, any
// redacted value of at least BlobRedactThreshold bytes) keeps its size and a
// sha256 prefix so support can match it with the original:
//
//	"[redacted 512000 B sha256:1a2b3c4d5e6f]"
//
// A short secret or piece of personal data keeps only its length, because a
// hash of a 14-digit ID number or a 6-digit OTP is brute-forceable:
//
//	"[redacted 14 B]"
//
// A body that is not JSON becomes "[redacted non-JSON N B ...]". Sizes are of
// the value as sent (the base64 text for an image, the compact JSON for an
// object), in bytes; the hash is over the same bytes.
const (
	BlobRedactThreshold = 256
	// LongBase64Threshold: a string holding a run of at least this many
	// base64 characters is redacted whatever its key.
	LongBase64Threshold = 256
	// maxRedactDepth bounds recursion; deeper values are redacted whole.
	maxRedactDepth = 32
)

// fieldKind says how the value of a field is redacted.
type fieldKind int

const (
	kindPlain     fieldKind = iota
	kindImage               // strings become blob markers; objects (blob references) are walked
	kindSecret              // secrets and personal data: every non-empty value becomes a marker
	kindContainer           // every string and number inside becomes a marker; keys and booleans stay
)

// Field names, normalised by normKey (lower case without '_', '-', '.',
// spaces). exact matches the whole name, contains any part of it.
var (
	imageExact = setOf("image", "images", "img", "photo", "photos", "picture", "pictures",
		"selfie", "portrait", "face", "faces", "frame", "frames", "file", "filedata", "blobdata")
	imageContains = []string{"image", "base64", "selfie", "photo", "portrait", "picture"}
	imageNumbered = regexp.MustCompile(`^(face|frame|image|img|photo|picture)\d+$`)

	secretExact = setOf("password", "pass", "passwd", "pwd", "secret", "token", "apikey",
		"authorization", "auth", "otp", "otpcode", "pin", "pincode", "cvv", "verificationcode",
		"cookie", "setcookie", "signature")
	secretContains = []string{"password", "passwd", "secret", "token", "apikey", "authorization",
		"otpcode", "privatekey", "credential"}

	piiExact = setOf("idnumber", "nationalid", "nid", "ssn", "name", "names", "firstname", "lastname",
		"middlename", "fullname", "familyname", "surname", "givenname", "namecheckvalue",
		"username", "usernameoremailaddress", "phone", "mobile", "tel", "telephone", "email",
		"birthdate", "dob", "birthday", "address", "street", "district", "city", "governorate",
		"village", "religion", "maritalstatus", "job", "profession", "occupation", "gender", "sex",
		"age", "latitude", "longitude", "lat", "lng", "lon", "geolocation", "location", "ip",
		"ipaddress", "serialnumber", "factorynumber", "idkey", "documentnumber", "cardnumber",
		"passportnumber", "licensenumber", "licencenumber", "iban", "accountnumber", "nationality",
		"husband", "wife", "spouse")
	piiContains = []string{"idnumber", "nationalid", "firstname", "lastname", "middlename",
		"fullname", "familyname", "fathername", "mothername", "husbandname", "spousename",
		"customername", "clientname", "holdername", "ownername", "personname", "arabicname",
		"englishname", "surname", "phone", "mobile", "email", "birth", "address", "street",
		"passport", "iban", "accountnumber", "latitude", "longitude", "geolocation"}

	containerExact = setOf("requestfieldsvalues", "idfrontdata", "idbackdata", "frontdata",
		"backdata", "extracteddata", "personaldata", "aml")
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func containsAny(s string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func kindOf(name string) fieldKind { return kindOfNorm(normKey(name)) }

// kindOfNorm is kindOf for a name already passed through normKey.
func kindOfNorm(k string) fieldKind {
	switch {
	case containerExact[k]:
		return kindContainer
	case secretExact[k] || containsAny(k, secretContains):
		return kindSecret
	case imageExact[k] || imageNumbered.MatchString(k) || containsAny(k, imageContains) || strings.HasSuffix(k, "face"):
		return kindImage
	case piiExact[k] || containsAny(k, piiContains):
		return kindSecret
	}
	return kindPlain
}

// IsSensitiveField reports whether the value of a field with this name is
// redacted: images (image, face_1, scanTransaction's frames, ...), secrets
// (password, tokens, ApiKey, Authorization, OTPs) and personal data
// (idNumber, name, names, phone, email, birth date, address, location, ...),
// and the blocks whose every value is personal data (requestFieldsValues,
// idFrontData, idBackData, AML). Names are matched case-insensitively,
// ignoring '_', '-', '.' and spaces.
func IsSensitiveField(name string) bool {
	return kindOf(name) != kindPlain
}

// Redact returns raw with images, secrets and personal data replaced by
// markers (see BlobRedactThreshold), recursing into nested objects and
// arrays (requestFieldsValues, scanTransaction, data.idFrontData, ...). Key
// order and untouched values are kept. Besides sensitive fields, any string
// holding a long base64 run (LongBase64Threshold) or a JWT is redacted
// whatever its key, and national ID numbers, e-mail addresses and Egyptian
// mobile numbers inside other strings are replaced. The result is always
// valid JSON: a body that is not JSON becomes one marker string.
func Redact(raw []byte) []byte {
	return redactJSON(raw, false)
}

// StripImages is Redact for images only: image fields and strings holding a
// long base64 run become markers, everything else (personal data included)
// is kept. It suits results a producer must read but that should not carry
// megabytes of base64 into Redis or the UI.
func StripImages(raw []byte) []byte {
	return redactJSON(raw, true)
}

func redactJSON(raw []byte, imagesOnly bool) []byte {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || !json.Valid(trimmed) {
		return quote("[redacted non-JSON " + sizeHash(raw) + "]")
	}
	r := redactor{imagesOnly: imagesOnly}
	r.buf.Grow(min(len(trimmed), 1<<16))
	r.value(trimmed, kindPlain, 0)
	return r.buf.Bytes()
}

// RedactValue is Redact for a decoded tree (map[string]any, []any, string,
// numbers, ...; other types go through encoding/json). It returns a new tree
// and leaves v unchanged; numbers come back as json.Number. A value that
// cannot be encoded becomes a marker string.
func RedactValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return "[redacted unencodable value]"
	}
	dec := json.NewDecoder(bytes.NewReader(Redact(b)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return "[redacted unencodable value]"
	}
	return out
}

// redactor writes the redacted form of a JSON document.
type redactor struct {
	buf bytes.Buffer
	// imagesOnly keeps secrets and personal data (StripImages).
	imagesOnly bool
}

// kindOf is kindOfNorm limited to images for StripImages.
func (r *redactor) kindOf(norm string) fieldKind {
	k := kindOfNorm(norm)
	if r.imagesOnly && k != kindImage {
		return kindPlain
	}
	return k
}

// value writes the redacted form of the valid JSON value raw, which sits
// under a field of kind k (kindPlain at the top).
func (r *redactor) value(raw json.RawMessage, k fieldKind, depth int) {
	raw = bytes.TrimSpace(raw)
	kind := jsonscan.Kind(raw)
	if depth > maxRedactDepth && (kind == "object" || kind == "array") {
		r.buf.Write(quote(marker(compactText(raw))))
		return
	}
	switch kind {
	case "object":
		r.object(members(raw), k, depth)
	case "array":
		r.buf.WriteByte('[')
		for i, e := range elements(raw) {
			if i > 0 {
				r.buf.WriteByte(',')
			}
			r.value(e, k, depth+1)
		}
		r.buf.WriteByte(']')
	case "string":
		s := unquote(raw)
		switch {
		case s == "":
			r.buf.WriteString(`""`)
		case k != kindPlain:
			r.buf.Write(quote(marker(s)))
		default:
			r.buf.Write(quote(r.text(s)))
		}
	case "number":
		if k != kindPlain || (!r.imagesOnly && (len(raw) >= LongBase64Threshold || looksLikeNationalID(string(raw)))) {
			r.buf.Write(quote(marker(string(raw))))
		} else {
			r.buf.Write(raw)
		}
	default: // true, false, null carry no secret worth a marker
		r.buf.Write(raw)
	}
}

func (r *redactor) object(obj object, k fieldKind, depth int) {
	// {"field": "idNumber", "value": "..."}: the value is as sensitive as
	// the field it belongs to.
	valueKind := kindPlain
	for _, m := range obj {
		switch m.norm {
		case "field", "key", "fieldname", "property", "name":
			if jsonscan.Kind(m.val) == "string" && r.kindOf(normKey(text(m.val))) != kindPlain {
				valueKind = kindSecret
			}
		}
	}
	r.buf.WriteByte('{')
	for i, m := range obj {
		if i > 0 {
			r.buf.WriteByte(',')
		}
		r.buf.Write(quote(r.text(m.key)))
		r.buf.WriteByte(':')
		// Inside a container every value is personal data; elsewhere (also
		// inside an image field's object, e.g. a blob reference) each key
		// decides.
		vk := k
		if k != kindContainer {
			vk = r.kindOf(m.norm)
			if vk == kindPlain && valueKind != kindPlain {
				switch m.norm {
				case "value", "values", "val":
					vk = valueKind
				}
			}
		}
		if kk := jsonscan.Kind(m.val); vk == kindSecret && (kk == "object" || kk == "array") {
			// Objects and arrays under a secret field go whole.
			r.buf.Write(quote(marker(compactText(m.val))))
			continue
		}
		r.value(m.val, vk, depth+1)
	}
	r.buf.WriteByte('}')
}

// text returns s, or a marker when s holds a long base64 run (or, unless
// imagesOnly, a JWT), with national ID numbers, e-mail addresses and
// Egyptian mobile numbers replaced unless imagesOnly.
func (r *redactor) text(s string) string {
	if hasLongBase64Run(s) {
		return marker(s)
	}
	if r.imagesOnly {
		return s
	}
	if jwtRe.MatchString(s) {
		return marker(s)
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = emailRe.ReplaceAllStringFunc(s, marker)
	}
	return replaceDigitRuns(s)
}

// unquote returns the content of a valid JSON string, without a second
// scan when it has no escapes (the common case for base64 images).
func unquote(raw json.RawMessage) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// marker is the redaction marker for a value (see BlobRedactThreshold).
func marker(s string) string {
	return "[redacted " + sizeHash([]byte(s)) + "]"
}

func sizeHash(b []byte) string {
	out := strconv.Itoa(len(b)) + " B"
	if len(b) >= BlobRedactThreshold {
		sum := sha256.Sum256(b)
		out += " sha256:" + hex.EncodeToString(sum[:6])
	}
	return out
}

// quote encodes s as a JSON string without HTML escaping.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

var (
	jwtRe    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.`)
	emailRe  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	digitsRe = regexp.MustCompile(`\+?\d{10,14}`)
)

// replaceDigitRuns replaces whole runs of digits that are a national ID
// number or an Egyptian mobile number.
func replaceDigitRuns(s string) string {
	locs := digitsRe.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		start, end := l[0], l[1]
		if (start > 0 && isDigit(s[start-1])) || (end < len(s) && isDigit(s[end])) {
			continue // part of a longer number
		}
		run := s[start:end]
		if !looksLikeNationalID(run) && !looksLikeMobile(run) {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(marker(run))
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// looksLikeNationalID reports a 14-digit Egyptian national ID number:
// century digit 2 or 3, a plausible birth month and day, a governorate code.
func looksLikeNationalID(s string) bool {
	if len(s) != 14 || (s[0] != '2' && s[0] != '3') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	month, _ := strconv.Atoi(s[3:5])
	day, _ := strconv.Atoi(s[5:7])
	gov, _ := strconv.Atoi(s[7:9])
	return month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
		((gov >= 1 && gov <= 4) || (gov >= 11 && gov <= 35) || gov == 88)
}

// looksLikeMobile reports an Egyptian mobile number: 01[0125] and 8 digits,
// optionally with the country code 20 or +20.
func looksLikeMobile(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if strings.HasPrefix(s, "20") && len(s) == 12 {
		s = "0" + s[2:]
	}
	return len(s) == 11 && strings.HasPrefix(s, "01") && strings.IndexByte("0125", s[2]) >= 0
}

// hasLongBase64Run reports a run of at least LongBase64Threshold characters
// of the base64 alphabets (standard and URL-safe, padding, line breaks).
func hasLongBase64Run(s string) bool {
	if len(s) < LongBase64Threshold {
		return false
	}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '\r' || c == '\n' {
			run++
			if run >= LongBase64Threshold {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
