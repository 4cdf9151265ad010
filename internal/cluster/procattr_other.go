//go:build !linux

package cluster

import "syscall"

// procAttr has no parent-death signal outside Linux; nodes are stopped by
// the test's cleanups.
func procAttr() *syscall.SysProcAttr { return nil }
