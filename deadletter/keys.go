package deadletter

import "strconv"

// keyspace builds the store's Redis keys. Every key starts with the hash tag
// "{prefix}" so that all of them live in one Redis Cluster slot, which lets
// MULTI and Lua touch any of them together.
type keyspace struct{ base string }

func newKeyspace(prefix string) keyspace { return keyspace{base: "{" + prefix + "}:"} }

func (k keyspace) record(id string) string      { return k.base + "r:" + id }
func (k keyspace) payload(id string) string     { return k.base + "p:" + id }
func (k keyspace) task(taskID string) string    { return k.base + "task:" + taskID }
func (k keyspace) all() string                  { return k.base + "all" }
func (k keyspace) exhausted() string            { return k.base + "exhausted" }
func (k keyspace) trimming() string             { return k.base + "trimming" }
func (k keyspace) index(d dim, v string) string { return k.base + string(d) + ":" + v }
func (k keyspace) values(d dim) string          { return k.base + "values:" + string(d) }

// dim is an indexed dimension of a record.
type dim string

const (
	dimTenant   dim = "tenant"
	dimCode     dim = "code"
	dimCategory dim = "category"
	dimType     dim = "type"
	dimClass    dim = "class"
	// dimTenantCode is the composite index of the most common support query
	// ("code X for tenant Y"); its value is "<code>:<tenant>". Not in dims:
	// Stats does not report it.
	dimTenantCode dim = "tenant_code"
)

// tenantCode is the dimTenantCode value of a tenant and a code.
func tenantCode(tenant string, code int) string { return strconv.Itoa(code) + ":" + tenant }

// dims lists the indexed single dimensions in a fixed order.
var dims = []dim{dimTenant, dimCode, dimCategory, dimType, dimClass}

// dimValues returns the index value of each dimension of rec; "" means the
// record is not indexed on that dimension (an empty tenant, type, category
// or class). The code is always indexed (0 when the failure had no code).
func dimValues(rec *Record) [5]string {
	return [5]string{rec.Tenant, strconv.Itoa(rec.ErrorCode), rec.Category, rec.Type, rec.Class}
}
