// Package config turns vlensq's configuration (flags with environment
// variable defaults) into connections: the Redis URL forms of VLENSQ_REDIS,
// and the tenants file.
package config
