package tasks

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vlensq/vlensq/internal/jsonscan"
)

// MaxImageBytes is the largest decoded image a task accepts. Vlens rejects
// larger images with code 5002 ("image > 5 MB"), so a task that would fail
// there is refused at enqueue time instead.
const MaxImageBytes = 5 << 20

// Image is one image of a payload. In JSON it is either a base64 string
// (inline) or a claim-check reference to a stored blob:
//
//	"image": "/9j/4AAQSkZJRg..."
//	"image": {"blob": "sha256:<hex>", "size": 48213, "type": "image/jpeg"}
//
// Exactly one of Inline and Ref is set. The enqueue Client moves every inline
// image to the BlobStore when it has one, so asynq (and Asynqmon) only ever
// holds references. String never prints image bytes.
type Image struct {
	// Inline is the image as standard base64 (RFC 4648, padded), without a
	// "data:" URI prefix.
	Inline string
	// Ref points at the image in a BlobStore.
	Ref *BlobRef
}

// InlineImage returns an image holding the base64 text b64.
func InlineImage(b64 string) *Image { return &Image{Inline: b64} }

// ImageBytes returns an inline image holding data, base64-encoded.
func ImageBytes(data []byte) *Image {
	return &Image{Inline: base64.StdEncoding.EncodeToString(data)}
}

// RefImage returns an image that refers to a stored blob.
func RefImage(ref BlobRef) *Image { return &Image{Ref: &ref} }

// String describes the image without its bytes.
func (im Image) String() string {
	switch {
	case im.Ref != nil:
		return fmt.Sprintf("image(%s, %d bytes)", im.Ref.Key, im.Ref.Size)
	case im.Inline != "":
		return fmt.Sprintf("image(inline, %d base64 chars)", len(im.Inline))
	}
	return "image(empty)"
}

// GoString describes the image without its bytes, even with %#v.
func (im Image) GoString() string { return im.String() }

// MarshalJSON writes the reference object when Ref is set, else the base64
// string.
func (im Image) MarshalJSON() ([]byte, error) {
	if im.Ref != nil {
		return json.Marshal(im.Ref)
	}
	return json.Marshal(im.Inline)
}

// UnmarshalJSON accepts a base64 string or a strict blob reference object.
// Errors are *ValidationError; their Field is relative to the image.
func (im *Image) UnmarshalJSON(b []byte) error {
	if err := checkJSON(b); err != nil {
		return err
	}
	return im.decodeRaw(b)
}

func (im *Image) decodeRaw(b []byte) error {
	switch jsonscan.Kind(b) {
	case "string":
		s, err := jsonString(b)
		if err != nil {
			return &ValidationError{Problem: "malformed JSON string"}
		}
		*im = Image{Inline: s}
		return nil
	case "object":
		var ref BlobRef
		if err := ref.decodeRaw(b); err != nil {
			return err
		}
		*im = Image{Ref: &ref}
		return nil
	}
	return &ValidationError{Problem: "must be " + im.describeJSON() + ", got " + jsonscan.Kind(b)}
}

// describeJSON implements describer for decode error messages.
func (Image) describeJSON() string {
	return `a base64 string or a blob reference {"blob","size","type"}`
}

// checkedImage is an image that passed validation.
type checkedImage struct {
	field string
	img   *Image
	// data is the decoded image; nil for references.
	data []byte
	// key is "sha256:<hex>" of the decoded bytes (or the reference's key).
	key   string
	ctype string
}

// checkImage validates one image and returns it decoded. field names it in
// errors ("payload.image").
func checkImage(field string, im *Image) (checkedImage, error) {
	bad := func(problem string) (checkedImage, error) {
		return checkedImage{}, &ValidationError{Field: field, Problem: problem}
	}
	switch {
	case im == nil || (im.Inline == "" && im.Ref == nil):
		return bad("required")
	case im.Inline != "" && im.Ref != nil:
		return bad("holds both inline base64 and a blob reference; set one")
	case im.Ref != nil:
		if err := im.Ref.validate(field); err != nil {
			return checkedImage{}, err
		}
		return checkedImage{field: field, img: im, key: im.Ref.Key, ctype: im.Ref.Type}, nil
	}
	s := im.Inline
	if strings.HasPrefix(s, "data:") {
		return bad("is a data: URI; send the bare base64 text")
	}
	// Reject oversized images before decoding them (a 50 MB line must not
	// cost a 50 MB allocation). StdEncoding skips only \r and \n.
	n := len(s) - strings.Count(s, "\n") - strings.Count(s, "\r")
	if size := n / 4 * 3; size-2 > MaxImageBytes {
		return bad(fmt.Sprintf("image is %s decoded, over the %s limit", megabytes(size), megabytes(MaxImageBytes)))
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return bad(fmt.Sprintf("not valid base64 (at byte %d)", int64(ce)))
		}
		return bad("not valid base64")
	}
	if len(data) == 0 {
		return bad("empty image")
	}
	if len(data) > MaxImageBytes {
		return bad(fmt.Sprintf("image is %s decoded, over the %s limit", megabytes(len(data)), megabytes(MaxImageBytes)))
	}
	ctype, err := sniffImage(data)
	if err != nil {
		return bad(err.Error())
	}
	sum := sha256.Sum256(data)
	return checkedImage{field: field, img: im, data: data, key: blobKeyPrefix + hex.EncodeToString(sum[:]), ctype: ctype}, nil
}

// sniffImage returns "image/jpeg" or "image/png", or an error naming what
// the bytes are instead. Vlens answers other types with HTTP 415.
func sniffImage(data []byte) (string, error) {
	ct := http.DetectContentType(data)
	switch ct {
	case "image/jpeg", "image/png":
		return ct, nil
	}
	if strings.HasPrefix(ct, "image/") {
		return "", fmt.Errorf("%s is not supported; send JPEG or PNG", ct)
	}
	return "", errors.New("not a JPEG or PNG image")
}

// megabytes formats n bytes as MB (MiB), e.g. "5 MB", "37.5 MB".
func megabytes(n int) string {
	mb := float64(n) / (1 << 20)
	if mb == float64(int(mb)) {
		return fmt.Sprintf("%d MB", int(mb))
	}
	return fmt.Sprintf("%.1f MB", mb)
}
