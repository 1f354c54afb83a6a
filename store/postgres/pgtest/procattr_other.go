//go:build !linux

package pgtest

import "syscall"

// procAttr runs the server as cred (nil: as we run), in its own process group.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// children is not known here: a killed server's backends end by themselves
// once they notice their postmaster is gone.
func children(int) []int { return nil }

func anyAlive([]int) bool { return false }
