package config_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// writeCerts writes a CA and a server certificate for 127.0.0.1 signed by it.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vlensq test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der), write("server.key", "EC PRIVATE KEY", keyDER)
}

// startTLSRedis starts a redis-server that speaks only TLS and returns its
// port. A missing redis-server fails the test.
func startTLSRedis(t *testing.T) (port int, caFile string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for the TLS test (apt-get install redis-server): %v", err)
	}
	dir := t.TempDir()
	caFile, cert, key := writeCerts(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(bin, "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--dir", dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
			return port, caFile
		}
		if time.Now().After(deadline) {
			t.Fatalf("TLS redis-server did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rediss:// with a private CA runs the whole pipeline: producer client,
// worker, journal, outcome stream, sessions and dead letters all over TLS.
func TestPipelineOverTLSRedis(t *testing.T) {
	t.Parallel()
	port, ca := startTLSRedis(t)
	ctx := context.Background()

	// Without the CA the server's certificate is refused: TLS verifies.
	noCA, err := config.OpenRedis(fmt.Sprintf("rediss://127.0.0.1:%d/0", port))
	if err != nil {
		t.Fatal(err)
	}
	if err := noCA.Client.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("ping without the CA: %v, want a certificate error", err)
	}
	_ = noCA.Close()

	r, err := config.OpenRedis(fmt.Sprintf("rediss://127.0.0.1:%d/0?ca=%s", port, ca))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Client.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping over TLS: %v", err)
	}

	tenants := vlenstest.DemoTenants()
	fake := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: tenants})
	ts, err := vlens.NewTenantSet(tenants...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{Redis: r, Tenants: ts, VlensBaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := a.NewServer(app.ServerOptions{Concurrency: 4})
	if err := srv.Start(a.Mux()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	ok, err := a.Tasks.Enqueue(ctx, tasks.TypeOCRAML, &tasks.Payload{Tenant: tenants[1].Name, IDNumber: "29001011234567", Name: "Amira"}, tasks.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := a.Tasks.Enqueue(ctx, tasks.TypeOCRAML, &tasks.Payload{Tenant: tenants[1].Name, IDNumber: "29001011234567", Name: "sandbox:code:4002#tls"}, tasks.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]outcome.Status{ok.ID: outcome.StatusSucceeded, bad.ID: outcome.StatusDeadLettered}
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := r.Client.XRange(ctx, outcome.Stream, "-", "+").Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		got := map[string]outcome.Status{}
		for _, m := range msgs {
			o := outcome.FromFields(m.Values)
			got[o.TaskID] = o.Status
		}
		if got[ok.ID] == want[ok.ID] && got[bad.ID] == want[bad.ID] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outcomes over TLS = %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := a.DLQ.GetByTaskID(ctx, bad.ID); err != nil {
		t.Errorf("dead letter over TLS: %v", err)
	}
}
