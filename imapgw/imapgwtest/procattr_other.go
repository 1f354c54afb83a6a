//go:build !linux

package imapgwtest

import "syscall"

// procAttr puts Dovecot in its own process group.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
