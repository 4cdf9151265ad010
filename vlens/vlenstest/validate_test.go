package vlenstest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pngHeader returns a PNG whose header claims width x height; the image
// data is missing, which is enough for the resolution check.
func pngHeader(width, height uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestCheckImage(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString
	jpegOf := func(n int) []byte { return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, n-4)...) }
	tests := []struct {
		desc   string
		in     string
		frame  int
		status int
		code   int
		desc1  string // first error description, "" for none
	}{
		{"sample JPEG", SampleImage(1), 0, 0, 0, ""},
		{"unpadded base64", strings.TrimRight(SampleImage(1), "="), 0, 0, 0, ""},
		{"small PNG", b64(pngHeader(100, 100)), 0, 0, 0, ""},
		{"not base64", "***", 0, 400, 400, "image: image is not valid base64"},
		{"data URI prefix is not base64", "data:image/jpeg;base64," + SampleImage(1), 0, 400, 400, "image: image is not valid base64"},
		{"GIF", b64([]byte("GIF89a........")), 0, 415, 0, "image: image must be a JPEG or PNG image"},
		{"PDF", b64([]byte("%PDF-1.7")), 0, 415, 0, "image: image must be a JPEG or PNG image"},
		{"5 MB is fine", b64(jpegOf(ImageMaxBytes)), 0, 0, 0, ""},
		{"over 5 MB", b64(jpegOf(ImageMaxBytes + 1)), 0, 422, 5002, ""},
		{"25 megapixels is fine", b64(pngHeader(5000, 5000)), 0, 0, 0, ""},
		{"over 25 megapixels", b64(pngHeader(6000, 5000)), 0, 422, 5003, ""},
		{"liveness frame over 500 KB", b64(jpegOf(FrameMaxBytes + 1)), FrameMaxBytes, 400, 400, "image: image must be at most 500 KB"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, r := checkImage("image", tc.in, tc.frame)
			if tc.status == 0 {
				if r != nil {
					t.Fatalf("rejected: %d %s", r.status, r.body())
				}
				return
			}
			if r == nil {
				t.Fatal("accepted")
			}
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("status %d code %d, want %d %d", r.status, r.code(), tc.status, tc.code)
			}
			if tc.desc1 != "" {
				descs, _ := r.env.ErrorDescriptions.([]description)
				if len(descs) == 0 || descs[0].Field+": "+descs[0].Message != tc.desc1 {
					t.Fatalf("descriptions %v, want %q first", descs, tc.desc1)
				}
			}
		})
	}
}

func TestRequestBodyChecks(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.MaxBodyBytes = 1 << 20 })
	token := b.userToken("body-user")

	t.Run("content type must be JSON", func(t *testing.T) {
		req := b.newRequest(t, http.MethodPost, pathFront, token, frontBody(nil))
		req.Header.Set("Content-Type", "text/plain")
		wantFailure(t, b.send(t, req), 415, nil, "Content-Type must be application/json")
	})
	t.Run("a charset parameter is fine", func(t *testing.T) {
		req := b.newRequest(t, http.MethodPost, pathFront, token, frontBody(nil))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		wantSuccess(t, b.send(t, req))
	})
	t.Run("no content type", func(t *testing.T) {
		req := b.newRequest(t, http.MethodPost, pathFront, token, frontBody(nil))
		req.Header.Del("Content-Type")
		wantStatus(t, b.send(t, req), 415)
	})
	for _, body := range []string{`{"image":`, `[1,2]`, `null`, ``, `{"a":1} {"b":2}`} {
		t.Run("not a JSON object: "+body, func(t *testing.T) {
			r := b.post(t, pathFront, token, body)
			wantFailure(t, r, 400, 400, "Validation failed")
			if diff := cmp.Diff([]string{"body: the request body must be a JSON object"}, r.descriptions()); diff != "" {
				t.Fatal(diff)
			}
		})
	}
	t.Run("body over the limit", func(t *testing.T) {
		big := `{"image":"` + strings.Repeat("A", 1<<20) + `"}`
		wantFailure(t, b.post(t, pathFront, token, big), 413, nil, "too large")
	})
	t.Run("field names match case-insensitively", func(t *testing.T) {
		wantSuccess(t, b.post(t, pathFront, token, map[string]any{"Image": SampleImage(2)}))
	})
	t.Run("wrong field types", func(t *testing.T) {
		r := b.post(t, pathFront, token, map[string]any{"image": 12, "transaction_id": true})
		wantFailure(t, r, 400, 400, "Validation failed")
		want := []string{"image: image must be a string", "transaction_id: transaction_id must be a string or null"}
		if diff := cmp.Diff(want, r.descriptions()); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}

func TestLookup(t *testing.T) {
	t.Parallel()
	m := map[string]any{"image": "a", "Transaction_ID": "b", "X": "upper", "x": "lower"}
	tests := []struct {
		key  string
		want any
		ok   bool
	}{
		{"image", "a", true},
		{"IMAGE", "a", true},
		{"transaction_id", "b", true},
		{"x", "lower", true}, // exact match wins
		{"missing", nil, false},
	}
	for _, tc := range tests {
		got, ok := lookup(m, tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lookup(%q) = %v, %v; want %v, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := lookup(nil, "x"); ok {
		t.Error("lookup in a nil map found something")
	}
}

func TestIsUUID(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"0b8f5a0e-5b7c-4c1e-9b7e-2f1d3c4b5a69": true,
		"0B8F5A0E-5B7C-4C1E-9B7E-2F1D3C4B5A69": true,
		newUUID():                              true,
		"0b8f5a0e5b7c4c1e9b7e2f1d3c4b5a69":     false,
		"0b8f5a0e-5b7c-4c1e-9b7e-2f1d3c4b5a6g": false,
		"":                                     false,
	} {
		if got := isUUID(s); got != want {
			t.Errorf("isUUID(%q) = %v, want %v", s, got, want)
		}
	}
}
