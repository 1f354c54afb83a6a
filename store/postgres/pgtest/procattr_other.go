//go:build !linux

package pgtest

import "syscall"

// procAttr runs the server as cred (nil: as we run), in its own process group.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
