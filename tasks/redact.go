package tasks

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// RedactedMarker replaces secrets and personal data in Redacted payloads.
const RedactedMarker = "[redacted]"

// Redacted returns a copy of the payload that is safe to display (Asynqmon,
// logs, support tools): the OTP code, personal data (idNumber, name,
// name_check_value, the values of requestFieldsValues) and the query of
// callback_url are replaced by RedactedMarker, and inline images by a note
// of their size. Blob references are kept: they hold no image bytes.
func (p *Payload) Redacted() *Payload {
	if p == nil {
		return nil
	}
	cp := *p
	mask := func(s *string) {
		if *s != "" {
			*s = RedactedMarker
		}
	}
	mask(&cp.OTPCode)
	mask(&cp.IDNumber)
	mask(&cp.Name)
	mask(&cp.NameCheckValue)
	if cp.CallbackURL != "" {
		if u, err := url.Parse(cp.CallbackURL); err == nil && u.User == nil {
			if u.RawQuery != "" || u.Fragment != "" {
				u.RawQuery, u.Fragment = RedactedMarker, ""
			}
			cp.CallbackURL = u.String()
		} else {
			cp.CallbackURL = RedactedMarker
		}
	}
	if len(p.RequestFieldsValues) > 0 {
		cp.RequestFieldsValues = make(map[string]any, len(p.RequestFieldsValues))
		for k := range p.RequestFieldsValues {
			cp.RequestFieldsValues[k] = RedactedMarker
		}
	}
	if p.ScanTransaction != nil {
		st := *p.ScanTransaction
		cp.ScanTransaction = &st
	}
	for _, name := range []string{"image", "face_1", "face_2", "face_3",
		"scanTransaction.image", "scanTransaction.face_1", "scanTransaction.face_2", "scanTransaction.face_3"} {
		if slot := cp.imageSlot(name); slot != nil && *slot != nil && (*slot).Ref == nil {
			*slot = &Image{Inline: fmt.Sprintf("[image: %d base64 chars]", len((*slot).Inline))}
		}
	}
	return &cp
}

// FormatPayload renders a task payload for display with its secrets and
// personal data redacted (see Payload.Redacted). It fits Asynqmon:
//
//	asynqmon.Options{PayloadFormatter: asynqmon.PayloadFormatterFunc(tasks.FormatPayload)}
//
// A payload that does not decode is not shown at all, since it may hold
// anything.
func FormatPayload(taskType string, payload []byte) string {
	p, err := DecodePayload(payload)
	if err != nil {
		return fmt.Sprintf("[%s payload of %d bytes that does not decode: %s]", taskType, len(payload), err)
	}
	b, err := json.Marshal(p.Redacted())
	if err != nil {
		return fmt.Sprintf("[%s payload of %d bytes]", taskType, len(payload))
	}
	return strings.TrimSpace(string(b))
}
