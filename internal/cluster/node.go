package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Node is one redis-server process (a data node or a sentinel).
type Node struct {
	// Port is the loopback port the node listens on.
	Port int
	// Dir holds the node's config, log and state files.
	Dir string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// Addr is "127.0.0.1:<port>".
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// Client returns a new client on the node (the caller closes it).
func (n *Node) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1, DialTimeout: time.Second})
}

// Running reports whether the process is still alive.
func (n *Node) Running() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Kill stops the node with SIGKILL, as a crash would, and waits for the
// process to exit.
func (n *Node) Kill() error { return n.signal(syscall.SIGKILL, 5*time.Second) }

// Stop stops the node gracefully (SIGTERM), then with SIGKILL after 5 s.
func (n *Node) Stop() error {
	if err := n.signal(syscall.SIGTERM, 5*time.Second); err == nil {
		return nil
	}
	return n.Kill()
}

func (n *Node) signal(sig syscall.Signal, wait time.Duration) error {
	if !n.Running() {
		return nil
	}
	if err := n.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: signal node %s: %w", n.Addr(), err)
	}
	select {
	case <-n.done:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("cluster: node %s still running %v after %v", n.Addr(), wait, sig)
	}
}

// Log returns the last lines of the node's log, for failure messages.
func (n *Node) Log() string {
	b, err := os.ReadFile(filepath.Join(n.Dir, "redis.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// startNode writes conf (plus port, dir and logfile lines) to <dir>/redis.conf
// and starts redis-server on it, on a free port; it retries on a new port when
// another process took the chosen one first. extraArgs follow the config file
// on the command line (e.g. "--sentinel").
func startNode(ctx context.Context, t testing.TB, cfg Config, name string, conf func(port int) string, extraArgs ...string) (*Node, error) {
	t.Helper()
	dir := filepath.Join(cfg.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsave \"\"\nappendonly no\n%s",
			port, dir, filepath.Join(dir, "redis.log"), conf(port))
		path := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return nil, err
		}
		_ = os.Remove(filepath.Join(dir, "redis.log"))
		n := &Node{Port: port, Dir: dir, done: make(chan struct{})}
		n.cmd = exec.Command(cfg.RedisServer, append([]string{path}, extraArgs...)...)
		var out bytes.Buffer
		n.cmd.Stdout, n.cmd.Stderr = &out, &out
		n.cmd.SysProcAttr = procAttr()
		if err := n.cmd.Start(); err != nil {
			return nil, fmt.Errorf("cluster: start %s: %w", cfg.RedisServer, err)
		}
		go func() { n.waitErr = n.cmd.Wait(); close(n.done) }()
		t.Cleanup(func() { _ = n.Stop() })
		if err := n.waitReady(ctx); err != nil {
			_ = n.Kill()
			lastErr = fmt.Errorf("cluster: node %s on port %d did not start: %w\noutput: %s\nlog:\n%s", name, port, err, out.String(), n.Log())
			continue
		}
		return n, nil
	}
	return nil, lastErr
}

// waitReady polls PING until the node answers or the process exits.
func (n *Node) waitReady(ctx context.Context) error {
	c := n.Client()
	defer c.Close()
	for {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("process exited: %v", n.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// poll calls f every interval until it returns nil or ctx ends; the error is
// f's last.
func poll(ctx context.Context, interval time.Duration, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(interval):
		}
	}
}
