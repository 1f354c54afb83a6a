//go:build unix

package replykeys

import (
	"os"
	"syscall"
)

// inode tells a renamed-in file from the one it replaced, even when both
// have the same size and modification second.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
