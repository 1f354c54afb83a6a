//go:build unix

package oauth

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock beside path (path + ".lock"), held
// until the returned function is called. Two processes that share a token
// file (serve and a sweep from cron, or check-config) then never offer the
// same rotating refresh token twice.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return func() {}, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return func() {}, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
