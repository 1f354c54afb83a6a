package pgtest

import "syscall"

// procAttr runs the server as cred (nil: as we run), in its own process
// group, and has the kernel end it if the test binary dies without running
// its cleanups. Go sets the parent-death signal after changing credentials,
// so it holds for a server started as another user too.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}
