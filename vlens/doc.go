// Package vlens is the HTTP client for the Vlens eKYC API.
//
// Every call ends in exactly one [Class]: success, auth_expired, transient,
// throttled or permanent. The classification is data (a [Table]) that a
// deployment can extend with a JSON file, because Vlens publishes numeric codes
// only for some failures and reports the rest as free text.
//
// # Envelope
//
// Vlens answers with an envelope {data, error_code, error_message,
// error_descriptions} and, on document endpoints, a services block. Errors can
// arrive with HTTP 200, with error_code null and the failure only under
// services.validations.validation_errors, or as an HTML page from a gateway.
// [DecodeEnvelope] survives all of these; [Table.Classify] reads every signal.
//
// # Errors
//
// A failed call returns a *[Error] (use errors.As) that carries everything a
// dead-letter record needs: method, URL, HTTP status, the Vlens code and
// message, field errors, the class, category and resolution text, the raw
// body (size-bounded) and any Retry-After.
package vlens
