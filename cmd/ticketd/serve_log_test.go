package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// jsonLines parses serve's stderr as one JSON object per line.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q (%v)", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// log_format = "json" gives one JSON object per line; SIGHUP applies a new
// log_level at once and names each changed setting that needs a restart
// (the old listener keeps serving).
func TestServeJSONLogsAndReloadNeedsRestart(t *testing.T) {
	dir := t.TempDir()
	port, newPort := freePort(t), freePort(t)
	base := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, port), 1)
	withLog := func(text, level string) string {
		return strings.Replace(text, "[server]\n", fmt.Sprintf("[server]\nlog_format = \"json\"\nlog_level = %q\n", level), 1)
	}
	_, cfg := writeConfig(t, withLog(base, "info"))
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "serving logged", func() bool { return strings.Contains(logs.String(), `"msg":"ticketd serving"`) })
	for _, l := range jsonLines(t, logs.String()) {
		if l["level"] == nil || l["msg"] == nil || l["time"] == nil {
			t.Fatalf("log object without time/level/msg: %v", l)
		}
	}

	moved := strings.Replace(withLog(base, "warn"), fmt.Sprintf(`listen = "127.0.0.1:%d"`, port), fmt.Sprintf(`listen = "127.0.0.1:%d"`, newPort), 1)
	if err := os.WriteFile(cfg, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "restart-needed warning", func() bool { return strings.Contains(logs.String(), "needs a restart") })
	var warned bool
	for _, l := range jsonLines(t, logs.String()) {
		if strings.Contains(fmt.Sprint(l["msg"]), "needs a restart") {
			warned = true
			want := fmt.Sprintf("smtp.listen (127.0.0.1:%d -> 127.0.0.1:%d)", port, newPort)
			if l["setting"] != want || l["level"] != "WARN" {
				t.Errorf("restart warning %v, want setting %q", l, want)
			}
		}
	}
	if !warned {
		t.Fatal("no restart warning")
	}
	// The old listener is the one in force.
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, "From: carla@cliente.example\r\nSubject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("old listener after reload: %v", err)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", newPort)); err == nil {
		c.Close()
		t.Fatal("the new smtp.listen was opened without a restart")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// log_level = "warn" took effect on SIGHUP: no info lines after it.
	out := logs.String()
	after := out[strings.Index(out, "needs a restart"):]
	if strings.Contains(after, `"level":"INFO"`) {
		t.Fatalf("info lines after log_level = \"warn\":\n%s", after)
	}
}

// With log_format = "json", the reason serve cannot start is a JSON line too.
func TestServeJSONStartFailure(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	text := strings.Replace(daemontest.BaseConfig(t.TempDir()), `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", busy.Addr().String()), 1)
	_, cfg := writeConfig(t, strings.Replace(text, "[server]\n", "[server]\nlog_format = \"json\"\n", 1))
	r := runBin(t, "", nil, "serve", "-config", cfg)
	lines := jsonLines(t, r.stderr)
	last := lines[len(lines)-1]
	if r.code != 1 || last["msg"] != "cannot start" || !strings.Contains(fmt.Sprint(last["err"]), "smtp.listen") {
		t.Fatalf("serve on a busy port with JSON logs: %d %q", r.code, r.stderr)
	}
}
