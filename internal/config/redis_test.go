package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
)

func TestParseRedisURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		in      string
		want    asynq.RedisConnOpt
		kind    string
		wantErr string
	}{
		{desc: "default", in: "redis://127.0.0.1:6379/0", want: asynq.RedisClientOpt{Addr: "127.0.0.1:6379", PoolSize: PoolSizeDefault}, kind: "standalone"},
		{desc: "password and db", in: "redis://:s3cret@h:6380/3", want: asynq.RedisClientOpt{Addr: "h:6380", Password: "s3cret", DB: 3, PoolSize: PoolSizeDefault}, kind: "standalone"},
		{desc: "cluster", in: "redis-cluster://a:7000,b:7001,c:7002", want: asynq.RedisClusterClientOpt{Addrs: []string{"a:7000", "b:7001", "c:7002"}}, kind: "cluster"},
		{desc: "sentinel", in: "redis-sentinel://:pw@s1:26379,s2:26379/mymaster?db=2", want: asynq.RedisFailoverClientOpt{MasterName: "mymaster", SentinelAddrs: []string{"s1:26379", "s2:26379"}, Password: "pw", DB: 2, PoolSize: PoolSizeDefault}, kind: "sentinel"},
		{desc: "sentinel without master", in: "redis-sentinel://s1:26379", wantErr: "master name"},
		{desc: "bad scheme", in: "http://h:1", wantErr: `unknown scheme "http"`},
		{desc: "bad scheme without a port", in: "ftp://localhost", wantErr: `unknown scheme "ftp"`},
		{desc: "bad db", in: "redis://h:6379/x", wantErr: "database must be a number"},
		{desc: "two hosts standalone", in: "redis://a:1,b:2", wantErr: "takes one host:port"},
		{desc: "missing port", in: "redis://h", wantErr: `"h" is not host:port`},
		{desc: "bad port", in: "redis://h:99999", wantErr: "bad port"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, kind, err := ParseRedisURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRedisURL(%q) error = %v, want containing %q", tc.in, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRedisURL(%q): %v", tc.in, err)
			}
			if kind != tc.kind {
				t.Errorf("kind = %q, want %q", kind, tc.kind)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRedisURL(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"redis://:s3cret@h:1/0":                           "redis://:xxxxx@h:1/0",
		"redis://user:s3cret@h:1":                         "redis://user:xxxxx@h:1",
		"redis-sentinel://h:1/m?sentinel_password=s3cret": "redis-sentinel://h:1/m?sentinel_password=xxxxx",
		"redis://h:1/0":                                   "redis://h:1/0",
		"redis://:s3cret@h:1/%zz":                         "redis://…",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenRedisMemory(t *testing.T) {
	t.Parallel()
	r, err := OpenRedis(Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("embedded redis does not answer: %v", err)
	}
	// asynq reaches the same embedded server through ConnOpt.
	insp := asynq.NewInspector(r.ConnOpt)
	defer insp.Close()
	if _, err := insp.Queues(); err != nil {
		t.Fatalf("asynq inspector on embedded redis: %v", err)
	}
	if r.Kind != Memory {
		t.Errorf("Kind = %q", r.Kind)
	}
}

func TestParseRedisURLCAErrors(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"rediss://h:1/0?ca=/nonexistent/ca.pem": "VLENSQ_REDIS: ca:",
		"redis://h:1/0?ca=" + notPEM:            "ca= needs TLS",
		"rediss://h:1/0?ca=" + notPEM:           "no PEM certificate",
	} {
		if _, _, err := ParseRedisURL(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRedisURL(%q) error = %v, want containing %q", in, err, want)
		}
	}
}
