package imapgwtest

import "syscall"

// procAttr puts Dovecot in its own process group and has the kernel end
// it if the test binary dies without running its cleanups (a timeout panic).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
