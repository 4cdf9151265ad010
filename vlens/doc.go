// Package vlens is the HTTP client for the Vlens eKYC API.
//
// Every call ends in exactly one [Class]: success, auth_expired, transient,
// throttled or permanent. The classification is data (a [Table]) that a
// deployment can extend with a JSON file ([LoadTable]), because Vlens
// publishes numeric codes only for some failures and reports the rest as
// free text.
//
// # Envelope
//
// Vlens answers with an envelope {data, error_code, error_message,
// error_descriptions} and, on document endpoints, a services block. Errors can
// arrive with HTTP 200, with error_code null and the failure only under
// services.validations.validation_errors, or as an HTML page from a gateway.
// [DecodeEnvelope] survives all of these; [Table.Classify] reads every signal
// in a documented order.
//
// # Errors
//
// A failed call returns a *[Error] (use errors.As) that carries everything a
// dead-letter record needs: method, URL, HTTP status, X-Request-Id, the Vlens
// code and message, field errors, the class, category and resolution text,
// the raw body (size-bounded) and any Retry-After. Its text never contains
// request bodies, tokens or keys.
//
// # Client
//
// [Client.Do] makes one call for a tenant: it asks the per-tenant rate limit
// first ([NewRedisLimiter]: go-redis/redis_rate, 10/s and 60/min by default,
// shared by every worker process), adds ApiKey, TenancyName, Authorization and
// a fresh X-Request-Id, bounds the response size and the call time, and
// classifies the answer. Do never retries transient failures itself: retries
// belong to the queue.
//
// # Tokens
//
// Tenant (admin) tokens come from /api/credentials/Login with the tenant's
// credentials; end-user tokens come from a [SessionStore]
// ([NewRedisSessionStore]; `vlensq session put`). Both are kept in Redis, so
// every worker process shares them, refreshed ahead of a known expiry, and
// rotated when Vlens sends a newRefreshToken. On auth_expired the client
// refreshes (one refresh per token owner at a time, across processes: an
// in-process singleflight plus a Redis lock) and replays the call exactly
// once; a revoked refresh token means a new login for a tenant and a
// permanent authentication failure for an end user.
//
// # Redaction
//
// [Redact] replaces images, tokens, passwords, OTPs, API keys and personal
// data in a JSON body by markers ("[redacted 512000 B sha256:1a2b3c4d5e6f]"
// for images, "[redacted 14 B]" for short values). Logs, dead-letter records,
// tickets and the dashboard use it. [StripImages] removes only images, for
// results handed back to producers.
package vlens
