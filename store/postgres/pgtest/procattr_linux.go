package pgtest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procAttr runs the server as cred (nil: as we run), in its own process
// group, and has the kernel end it if the test binary dies without running
// its cleanups. Go sets the parent-death signal after changing credentials,
// so it holds for a server started as another user too.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procStat(child); ok && st.ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// anyAlive reports whether one of pids still runs (a zombie does not:
// it has let go of its memory).
func anyAlive(pids []int) bool {
	for _, pid := range pids {
		if st, ok := procStat(pid); ok && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

type stat struct {
	state byte
	ppid  int
}

func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 2 {
		return stat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return stat{state: f[0][0], ppid: ppid}, true
}
