package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// ticketdBinary builds the real binary once per test run, so these tests
// see exactly what an admin or an MTA pipe sees: exit codes and output.
func ticketdBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ticketd-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ticketd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(ticketdBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func writeConfig(t *testing.T, text string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	if text == "" {
		text = daemontest.BaseConfig(dir)
	}
	path = filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestInjectExitCodes(t *testing.T) {
	dir, cfg := writeConfig(t, "")
	mail := "From: Carla <carla@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Por tubería\r\n\r\nHola desde procmail.\r\n"

	r := runBin(t, mail, nil, "inject", "-config", cfg, "-to", "soporte@example.com", "-from", "carla@cliente.example")
	if r.code != 0 {
		t.Fatalf("inject: exit %d, stderr %q", r.code, r.stderr)
	}
	// The config may also come from the environment.
	r = runBin(t, "", []string{"TICKETD_CONFIG=" + cfg}, "tickets", "show", "1", "--json")
	var tk struct {
		Number        int    `json:"number"`
		Status        string `json:"status"`
		Subject       string `json:"subject"`
		Requester     string `json:"requester"`
		RequesterName string `json:"requester_name"`
		Messages      []struct {
			Author string `json:"author"`
			Text   string `json:"text"`
		} `json:"messages"`
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &tk); err != nil {
		t.Fatalf("tickets show --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	if tk.Number != 1 || tk.Status != "nuevo" || tk.Subject != "Por tubería" || tk.Requester != "carla@cliente.example" || tk.RequesterName != "Carla" ||
		len(tk.Messages) != 1 || tk.Messages[0].Author != "customer" || !strings.Contains(tk.Messages[0].Text, "Hola desde procmail") ||
		len(tk.Events) == 0 || tk.Events[0].Type != "created" {
		t.Fatalf("stored ticket: %+v", tk)
	}
	// No daemon runs here, so the outbox keeps what inject queued.
	if entries, _ := os.ReadDir(filepath.Join(dir, "outbox")); len(entries) != 0 {
		t.Fatalf("inject itself sent mail")
	}

	cases := []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"unknown recipient", mail, []string{"-to", "ventas@example.com"}, 67, "unknown recipient"},
		{"empty input", "", []string{"-to", "soporte@example.com"}, 65, "not a mail"},
		{"no header section", "just some words\nand more\n", []string{"-to", "soporte@example.com"}, 65, "not a mail"},
		{"missing -to", mail, nil, 64, "-to"},
	}
	for _, c := range cases {
		r := runBin(t, c.stdin, nil, append([]string{"inject", "-config", cfg}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.stderr) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s: exit %d stderr %q; want %d with one line containing %q", c.name, r.code, r.stderr, c.code, c.stderr)
		}
	}
	// Anything that parses as a mail is stored, however odd.
	r = runBin(t, "Subject: solo cabecera\r\n\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com")
	if r.code != 0 {
		t.Fatalf("odd but real mail: exit %d %q", r.code, r.stderr)
	}
}

func TestInjectTempFailsWhileDatabaseLocked(t *testing.T) {
	dir, cfg := writeConfig(t, "")
	mail := "From: carla@cliente.example\r\nSubject: x\r\n\r\nx\r\n"
	if r := runBin(t, mail, nil, "inject", "-config", cfg, "-to", "soporte@example.com"); r.code != 0 {
		t.Fatalf("first inject: %d %s", r.code, r.stderr)
	}
	// Another process holds the write lock (sqlite3's CLI is not assumed:
	// the test binary itself holds it through the store's own driver).
	unlock := lockDatabase(t, filepath.Join(dir, "data", "ticketd.db"))
	defer unlock()
	r := runBin(t, mail, []string{"TICKETD_BUSY_TIMEOUT=300ms"}, "inject", "-config", cfg, "-to", "soporte@example.com")
	if r.code != 75 || !strings.Contains(r.stderr, "try again") {
		t.Fatalf("locked database: exit %d stderr %q, want 75", r.code, r.stderr)
	}
}

func TestCheckConfig(t *testing.T) {
	_, good := writeConfig(t, "")
	r := runBin(t, "", nil, "check-config", "-config", good)
	if r.code != 0 || !strings.Contains(r.stdout, "soporte@example.com") {
		t.Fatalf("good config: exit %d out %q err %q", r.code, r.stdout, r.stderr)
	}
	dir := t.TempDir()
	bad := strings.Replace(daemontest.BaseConfig(dir), `language = "es"`, `language = "de"`, 1)
	bad = strings.Replace(bad, `transport = "dir"`, `transport = "carrier-pigeon"`, 1)
	bad = strings.Replace(bad, "[smtp]\n", "[smtp]\nlisten_adress = \"x\"\n", 1)
	_, badPath := writeConfig(t, bad)
	r = runBin(t, "", nil, "check-config", "-config", badPath)
	if r.code == 0 {
		t.Fatalf("bad config accepted")
	}
	for _, want := range []string{"server.language", "outbound.transport", "smtp.listen_adress", "ticketd.toml:"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, r.stderr)
		}
	}
	if r := runBin(t, "x", nil, "inject", "-config", badPath, "-to", "soporte@example.com"); r.code != 78 {
		t.Errorf("inject with a bad config: exit %d, want 78", r.code)
	}
}

// serve runs the real binary: it takes mail, sends what inject queued
// beside it, keeps running on a bad SIGHUP, and stops cleanly on SIGTERM
// even with a relay's idle connection open.
func TestServeSignals(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgText := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, port), 1)
	_, cfg := writeConfig(t, cfgText)
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "SMTP listener", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// inject beside the running daemon: its worker sends the mails.
	_ = os.MkdirAll(filepath.Join(dir, "outbox"), 0o755)
	r := runBin(t, "From: carla@cliente.example\r\nSubject: A la vez\r\n\r\nhola\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com", "-from", "carla@cliente.example")
	if r.code != 0 {
		t.Fatalf("inject beside serve: %d %s", r.code, r.stderr)
	}
	waitFor(t, "outbox files from the daemon", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "outbox"))
		return len(entries) >= 3
	})

	// A broken config on SIGHUP is logged and the daemon keeps serving.
	os.WriteFile(cfg, []byte(cfgText+"\nbogus_key = 1\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload failure logged", func() bool { return strings.Contains(logs.String(), "config reload failed") })
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, "From: carla@cliente.example\r\nSubject: tras HUP\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("after a bad SIGHUP the daemon must keep serving: %v", err)
	}

	// A good config on SIGHUP takes effect without a restart: a new mailbox.
	newBox := cfgText + `
[[mailboxes]]
address = "ventas@example.com"
name = "Ventas"
language = "en"
agents = ["luis@example.com"]
`
	os.WriteFile(cfg, []byte(newBox), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload logged", func() bool { return strings.Contains(logs.String(), "config reloaded") })
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"ventas@example.com"}, "From: carla@cliente.example\r\nSubject: precio\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("new mailbox after SIGHUP: %v", err)
	}

	// A relay's cached idle connection must not hold up shutdown.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	bufio.NewReader(idle).ReadString('\n')
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not exit within 10 s of SIGTERM\n%s", logs.String())
	}
	t.Logf("shutdown took %v", time.Since(start))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls a condition that another process makes true.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lockDatabase holds SQLite's write lock on path until unlock is called.
func lockDatabase(t *testing.T, path string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

// A daemon that cannot take mail must not pretend: a busy SMTP port ends
// serve at once, with the key to fix.
func TestServeFailsLoudlyWhenItCannotListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfgText := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", busy.Addr().String()), 1)
	_, cfg := writeConfig(t, cfgText)
	r := runBin(t, "", nil, "serve", "-config", cfg)
	if r.code != 1 || !strings.Contains(r.stderr, "smtp.listen") {
		t.Fatalf("serve on a busy port: exit %d, stderr %q", r.code, r.stderr)
	}
}
