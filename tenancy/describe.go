package tenancy

import (
	"fmt"
	"strconv"
	"time"
)

// Describe says why and since when the tenant is paused, in one line: the
// breaker's cause (category, code, message, dead-letter id, next probe) or
// who paused it by hand and why. `vlensq tenants list` and the dashboard's
// banner show it.
func (p Pause) Describe() string {
	at := p.At.UTC().Format(time.RFC3339)
	if p.Cause != nil {
		s := "breaker: " + p.Cause.Category
		if p.Cause.Code != 0 {
			s += " code " + strconv.Itoa(p.Cause.Code)
		}
		if p.Cause.Message != "" {
			s += " " + strconv.Quote(p.Cause.Message)
		}
		if p.Cause.DeadLetterID != "" {
			s += " (dead letter " + p.Cause.DeadLetterID + ")"
		}
		if !p.NextProbe.IsZero() {
			s += fmt.Sprintf("; probe %d at %s", p.Probes+1, p.NextProbe.UTC().Format(time.RFC3339))
		}
		return s + " since " + at
	}
	s := "by " + p.By + " at " + at
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return s
}
