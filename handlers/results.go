package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vlensq/vlensq/tasks"
)

// ResultPolicy says what a successful task keeps as its result (the
// outcome stream's "result", the callback body and asynq's task result):
// what producers need, not every field Vlens returned. The result is
// {"data": ..., "services": ...} with images always stripped; "services"
// (the verdicts: validations, spoofing, liveness, SRC, AML) is kept whole.
// The zero value is the default: per-type allow-lists of data members
// (DefaultResultFields).
type ResultPolicy struct {
	// Full keeps every member of "data" Vlens returned (images stripped), as
	// before allow-lists existed. Default false.
	Full bool
	// Fields overrides the allow-list of the named task types: the members
	// of "data" kept (matched case-insensitively). A type in neither Fields
	// nor DefaultResultFields keeps its data whole. Default: none.
	Fields map[string][]string
}

// verifyIDs are the ids and verdicts of an identity-verification step.
var verifyIDs = []string{"transaction_id", "client_transaction_id", "request_id", "transactionId",
	"isVerificationProcessCompleted", "isDigitalIdentityVerified"}

// DefaultResultFields are the members of "data" a successful task keeps by
// default. Identity verification keeps its ids and verdicts (not the
// extracted personal data: set ResultPolicy.Fields or Full to have it); OCR
// of an ID keeps the extracted block it was asked for; business steps keep
// the ids the next step needs and the status.
var DefaultResultFields = map[string][]string{
	tasks.TypeVerifyIDFront:              verifyIDs,
	tasks.TypeVerifyIDBack:               verifyIDs,
	tasks.TypeVerifyLiveness:             verifyIDs,
	tasks.TypeOCRIDFront:                 {"transaction_id", "client_transaction_id", "idFrontData"},
	tasks.TypeOCRIDBack:                  {"transaction_id", "client_transaction_id", "idBackData"},
	tasks.TypeOCRFaceMatch:               {"transaction_id", "client_transaction_id", "isMatched"},
	tasks.TypeOCRAML:                     {"transaction_id", "client_transaction_id"},
	tasks.TypeBusinessCreate:             {"id", "requestNumber", "requestTypeId", "requeststatus", "requestStatusName", "creationTime"},
	tasks.TypeBusinessRequestOTP:         {"otpRequestId"},
	tasks.TypeBusinessRevalidateLiveness: {"isLivenessVerified"},
	tasks.TypeBusinessValidateOTP:        {"id", "requeststatus", "requestStatusName"},
	tasks.TypeBusinessStatus:             {"id", "requestNumber", "requestTypeId", "requeststatus", "requestStatusName", "creationTime"},
}

func (p ResultPolicy) validate() error {
	for typ := range p.Fields {
		if _, ok := tasks.Lookup(typ); !ok {
			return fmt.Errorf("handlers: ResultPolicy.Fields: unknown task type %q", typ)
		}
	}
	return nil
}

// fields returns the allow-list of taskType, nil to keep data whole.
func (p ResultPolicy) fields(taskType string) []string {
	if p.Full {
		return nil
	}
	if f, ok := p.Fields[taskType]; ok {
		return f
	}
	return DefaultResultFields[taskType]
}

// apply trims the result of taskType to its allow-list.
func (p ResultPolicy) apply(taskType string, result json.RawMessage) json.RawMessage {
	keep := p.fields(taskType)
	if keep == nil {
		return result
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(result, &top) != nil || top == nil {
		return result
	}
	var data map[string]json.RawMessage
	if raw, ok := top["data"]; !ok || json.Unmarshal(raw, &data) != nil || data == nil {
		return result // not an object: nothing to select
	}
	out := map[string]json.RawMessage{}
	for k, v := range data {
		if slices.ContainsFunc(keep, func(f string) bool { return strings.EqualFold(f, k) }) {
			out[k] = v
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return result
	}
	top["data"] = b
	if b, err = json.Marshal(top); err != nil {
		return result
	}
	return b
}

// ParseResultFields parses "type=field|field;type=field" (the worker's
// --result-fields) into ResultPolicy.Fields. An empty field list keeps no
// data member of that type.
func ParseResultFields(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for item := range strings.SplitSeq(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		typ, list, ok := strings.Cut(item, "=")
		typ = strings.TrimSpace(typ)
		if !ok || typ == "" {
			return nil, fmt.Errorf("result fields: %q: want type=field|field", item)
		}
		if _, known := tasks.Lookup(typ); !known {
			return nil, fmt.Errorf("result fields: unknown task type %q (known: %s)", typ, strings.Join(slices.Sorted(maps.Keys(DefaultResultFields)), ", "))
		}
		fields := []string{}
		for f := range strings.SplitSeq(list, "|") {
			if f = strings.TrimSpace(f); f != "" {
				fields = append(fields, f)
			}
		}
		out[typ] = fields
	}
	return out, nil
}
