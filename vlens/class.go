package vlens

// Class is the single verdict on a Vlens call. Its string values are stable:
// they appear in dead-letter records, outcome messages, filters and metrics.
type Class string

const (
	// ClassSuccess: 2xx, error_code null or 0, no validation errors under
	// services, no failed checks (fake document, liveness, SRC).
	ClassSuccess Class = "success"
	// ClassAuthExpired: the access token expired; refresh it and retry once.
	ClassAuthExpired Class = "auth_expired"
	// ClassTransient: network errors, timeouts, 5xx, 408, non-JSON bodies and
	// the server-side codes (5000, 5008, 70xx); retry with backoff.
	ClassTransient Class = "transient"
	// ClassThrottled: 429, code 4003 or the local rate limit; retry later
	// without spending the task's attempts.
	ClassThrottled Class = "throttled"
	// ClassPermanent: validation, identity, registration, business, account and
	// configuration errors, and every unknown code (except on an HTTP 5xx,
	// where an unknown code is transient); never retried.
	ClassPermanent Class = "permanent"
)

// Classes lists every class, in a stable order.
var Classes = []Class{ClassSuccess, ClassAuthExpired, ClassTransient, ClassThrottled, ClassPermanent}

// Valid reports whether c is one of the five classes.
func (c Class) Valid() bool {
	switch c {
	case ClassSuccess, ClassAuthExpired, ClassTransient, ClassThrottled, ClassPermanent:
		return true
	}
	return false
}

// Category groups failures the way the Vlens errors page does. Its string
// values are stable.
type Category string

const (
	CategoryNone                 Category = "" // success
	CategoryAuthentication       Category = "authentication"
	CategoryRegistration         Category = "registration"
	CategoryIdentityVerification Category = "identity_verification"
	CategoryBusinessRequest      Category = "business_request"
	CategoryValidation           Category = "validation"
	CategoryAccount              Category = "account"
	CategoryNetwork              Category = "network"
	CategoryServer               Category = "server"
	// CategoryInternal marks a failure of vlensq itself rather than of
	// Vlens (Redis, the image store, a dead-letter or outcome write), ended
	// after Policy.InternalAttempts or asynq's retry budget.
	CategoryInternal Category = "internal"
	// CategoryUnknown marks a code or message the table does not know. Such a
	// failure is permanent (never retried blindly), except on an HTTP 5xx
	// where it is retried as a server error, and counted when dead-lettered,
	// so that a new Vlens code is noticed and added to the table.
	CategoryUnknown Category = "unknown"
)

// Categories lists every non-empty category, in a stable order.
var Categories = []Category{
	CategoryAuthentication, CategoryRegistration, CategoryIdentityVerification,
	CategoryBusinessRequest, CategoryValidation, CategoryAccount,
	CategoryNetwork, CategoryServer, CategoryUnknown, CategoryInternal,
}

// Valid reports whether c is a known non-empty category.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}
