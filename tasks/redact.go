package tasks

import "github.com/vlensq/vlensq/vlens"

// FormatPayload renders a task payload for display with images, secrets
// (otpCode) and personal data (idNumber, name, geoLocation,
// requestFieldsValues, ...) replaced by vlens.Redact's markers, the same
// markers the dead-letter records use. It fits Asynqmon:
//
//	asynqmon.Options{PayloadFormatter: asynqmon.PayloadFormatterFunc(tasks.FormatPayload)}
func FormatPayload(_ string, payload []byte) string {
	return string(vlens.Redact(payload))
}
