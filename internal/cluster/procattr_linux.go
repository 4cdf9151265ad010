package cluster

import "syscall"

// procAttr kills a node when the test binary dies without running its
// cleanups (a panic in another goroutine, a SIGKILL), so no redis-server is
// left behind holding a port.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
