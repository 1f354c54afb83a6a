// Package pgtest starts a private PostgreSQL server for tests, the way
// imapgw/imapgwtest starts Dovecot: its cluster, configuration and log live
// in t.TempDir(), it listens on a free loopback port (TCP only, no Unix
// socket), and it touches no system service. Each test takes a fresh
// database of its own from it (NewDB).
//
// The server is Debian's (package postgresql, with postgresql-contrib for
// the unaccent extension): initdb and postgres from /usr/lib/postgresql/NN/bin
// or PATH. Both refuse to run as root, so as root the cluster belongs to the
// system user "postgres" (which the package creates), else "nobody".
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser and password of every test cluster.
const (
	User     = "ticketd"
	Password = "s3cret-pg-pw"
)

// Server is one running (or stopped) test cluster.
type Server struct {
	Addr string // 127.0.0.1:port
	Dir  string

	bin     string
	data    string
	opts    Options
	cred    *syscall.Credential
	cmd     *exec.Cmd
	done    chan struct{}
	counter atomic.Int64
}

// Options tune Start.
type Options struct {
	// Durable keeps fsync on, as in production (benchmarks); tests run
	// with fsync off, which changes nothing they can observe short of a
	// machine crash.
	Durable bool
	// Settings are extra "-c name=value" server settings.
	Settings map[string]string
	// Dir, when set, holds the cluster instead of a temporary directory,
	// and is kept after the test: a cluster already there is started
	// again instead of created, with the databases it holds (benchmarks
	// that keep a generated database between runs).
	Dir string
}

// BinDir finds the directory holding initdb and postgres. Outside CI a
// missing server skips the test; with CI=true it fails it, so CI cannot
// pass by skipping.
func BinDir(t testing.TB) string {
	t.Helper()
	if dir, ok := binDir(); ok {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("PostgreSQL server not found (initdb, postgres); CI must install postgresql and postgresql-contrib")
	}
	t.Skip("PostgreSQL server not found: install postgresql and postgresql-contrib to run the PostgreSQL tests")
	return ""
}

func binDir() (string, bool) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	// Debian keeps the server binaries out of PATH, one directory per
	// major version: take the newest.
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, true
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(p)) {
			return filepath.Dir(p), true
		}
	}
	return "", false
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start creates a cluster and starts it; it is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s, err := create(BinDir(t), dir, opts)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns one server for the whole test binary, started on first
// use, so that many tests can each take a database (NewDB) without paying
// for a cluster each. A package that uses it runs its tests through Main,
// which stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := BinDir(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "ticketd-pgtest-")
		if err != nil {
			shared.err = err
			return
		}
		shared.srv, shared.err = create(bin, dir, Options{})
		if shared.err != nil {
			os.RemoveAll(dir)
		}
	})
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.srv
}

// Main runs a package's tests and then stops the shared server, if one
// was started, and removes its files. Use it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
		os.RemoveAll(shared.srv.Dir)
	}
	return code
}

// create runs initdb in dir, unless it holds a cluster already, and
// starts the server.
func create(bin, dir string, opts Options) (*Server, error) {
	s := &Server{bin: bin, Dir: dir, opts: opts}
	s.data = filepath.Join(s.Dir, "data")
	cred, err := s.prepareOwner()
	if err != nil {
		return nil, err
	}
	s.cred = cred
	if _, err := os.Stat(filepath.Join(s.data, "PG_VERSION")); err == nil {
		if err := s.pickAddr(); err != nil {
			return nil, err
		}
		return s, s.start()
	}
	pw := filepath.Join(s.Dir, "pwfile")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o644); err != nil {
		return nil, err
	}
	// scram for TCP, so that tests can also see a wrong password refused.
	out, err := s.run("initdb", "-D", s.data, "-U", User, "--pwfile", pw, "-E", "UTF8", "--no-locale",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions")
	os.Remove(pw)
	if err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := s.pickAddr(); err != nil {
		return nil, err
	}
	return s, s.start()
}

// pickAddr chooses a free loopback port for the server.
func (s *Server) pickAddr() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.Addr = l.Addr().String()
	return l.Close()
}

// prepareOwner returns the credentials the server runs with (nil: ours)
// and makes the test directory reachable for that user.
func (s *Server) prepareOwner() (*syscall.Credential, error) {
	if os.Getuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root, and neither user postgres nor nobody exists to own the cluster")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// Temporary directories are 0700 root: let the owner pass through.
	for _, p := range []string{filepath.Dir(s.Dir), s.Dir} {
		if p == os.TempDir() {
			continue
		}
		if err := os.Chmod(p, 0o711); err != nil {
			return nil, err
		}
	}
	if err := os.Chown(s.Dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	cmd.SysProcAttr = procAttr(s.cred)
	return cmd
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	return s.command(name, args...).CombinedOutput()
}

// Start (re)starts a stopped or killed server and returns once it accepts
// connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"-D", s.data, "-p", port, "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning", "-c", "TimeZone=UTC"}
	if !s.opts.Durable {
		// No flush to disk, but every commit is written out before it is
		// acknowledged (synchronous_commit stays on): a killed server (Kill)
		// loses nothing, only a machine crash would.
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	for k, v := range s.opts.Settings {
		args = append(args, "-c", k+"="+v)
	}
	// The server runs as our child (not detached by pg_ctl), in its own
	// process group, and the kernel ends it if the test binary dies
	// without running its cleanups (a timeout panic).
	cmd := s.command("postgres", args...)
	out, err := os.OpenFile(filepath.Join(s.Dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(s.done)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s.ready() {
			return nil
		}
		select {
		case <-s.done:
			s.cmd = nil
			return fmt.Errorf("postgres exited:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("postgres did not answer on %s:\n%s", s.Addr, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return false
	}
	c.Close(ctx)
	return true
}

// Stop stops the server (fast shutdown: sessions are ended, what was
// committed is kept) and waits for it. It may be called again.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	// Whatever is left of the process group ends as in a crash.
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Kill ends the server as a crash would (SIGKILL to the postmaster and
// every backend); Start brings it back.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	// Each backend is a session of its own (PostgreSQL calls setsid), so
	// the process group does not reach them: find them by parent.
	kids := children(s.cmd.Process.Pid)
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	for _, pid := range kids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	<-s.done
	s.cmd = nil
	// A new postmaster refuses to start while a backend is still attached
	// to the old one's shared memory.
	for i := 0; i < 500 && anyAlive(kids); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// Log returns what the server logged.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	return string(b)
}

// DSN is the URL of database db as the superuser.
func (s *Server) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(User, Password), Host: s.Addr, Path: "/" + db,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// NewDB creates an empty database, dropped when the test ends, and
// returns its DSN.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.counter.Add(1), sanitize(t.Name()))
	s.Exec(t, `CREATE DATABASE "`+name+`"`)
	t.Cleanup(func() {
		if s.cmd != nil {
			s.Exec(t, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
		}
	})
	return s.DSN(name)
}

// Exec runs SQL on the maintenance database.
func (s *Server) Exec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
