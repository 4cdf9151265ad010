// Package dashboard is vlensq's web dashboard for operators and support
// staff: Asynqmon for the queues, server-rendered pages and a JSON API for
// the dead letters, Prometheus metrics, and health checks, behind one
// authentication layer.
//
// # Routes
//
//	/monitoring/          Asynqmon (payloads and results redacted with vlens.Redact)
//	/dlq/                 dead-letter list: filters, counts, cursor pages, export
//	/dlq/{id}             one record: envelope, redacted request, history, ticket
//	/dlq/requeue          requeue with a dry-run confirmation step
//	/dlq/purge            purge with a dry-run confirmation step
//	/api/dlq              JSON: list (filters + cursor), stats, export,
//	                      {id}, {id}/ticket, POST requeue, POST purge
//	/tenants/             tenants: state, backlog, rate, oldest waiting task,
//	                      pause cause; POST {name}/pause and {name}/resume
//	/api/tenants          JSON: list, POST {name}/pause, POST {name}/resume
//	/metrics              the shared registry plus the queue collector
//	/login, /logout       browser sign-in (session cookie)
//	/healthz, /readyz     process up; Redis reachable (no authentication)
//
// # Authentication
//
// Every route but /healthz, /readyz and the static assets needs one of:
// an "Authorization: Bearer" token (Config.Token), HTTP basic credentials of
// a user (Config.Users, bcrypt hashes), or the session cookie set by
// /login. Tokens are compared in constant time; a user that does not exist
// still costs a bcrypt comparison, so timing does not reveal user names.
// Sessions are HMAC-signed, HttpOnly, SameSite=Strict cookies that expire
// (Config.SessionTTL), end when the credential they were made with changes,
// and are revoked in Redis at /logout. [New] refuses a configuration
// without any credential unless Config.InsecureNoAuth is set.
//
// # Browser safety
//
// Every state-changing form carries a CSRF token bound to the session (or,
// without one, to a CSRF cookie), and so must POST /api/dlq/* when the
// request is authenticated by cookie. Cross-origin unsafe requests are
// refused (http.CrossOriginProtection), which also guards Asynqmon's own
// API. Responses carry a strict Content-Security-Policy; the one for
// /monitoring/ allows exactly Asynqmon's inline scripts (by hash) and its
// inline styles. Asynqmon's error_message fields, which it cannot format,
// are redacted on the way out.
//
// # Tenants
//
// Every signed-in page carries a banner naming the paused tenants and why
// (one HGETALL per page). Pause and resume from the tenants page or the
// API are recorded as "dashboard:<user>", kept in the tenant history and
// published on the outcome stream, like `vlensq tenants pause|resume`.
// The dashboard builds its tenancy.Scheduler and tenancy.States from Redis
// and Config.Tenants alone; it makes no Vlens call.
//
// # Metrics
//
// [Collector] is a prometheus.Collector over asynq's Inspector and the
// dead-letter store: queue sizes by state, latency, processed and failed
// totals, dead-letter counts and, per tenant, held, ready and running tasks,
// the paused flag and the oldest waiting task's age. Its labels are queue
// names, the fixed dead-letter dimensions and tenant names, never payload
// values. deploy/grafana/vlensq.json
// charts these and the worker metrics of internal/metrics.
package dashboard
