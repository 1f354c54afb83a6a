package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The licence is the Apache License 2.0, whole: the text the Apache
// Software Foundation publishes, byte for byte.
func TestLicenseIsApache2(t *testing.T) {
	b, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30" {
		t.Fatalf("LICENSE is not the Apache License 2.0 text (sha256 %s)", got)
	}
}

// unitSettings reads a systemd unit as key → values.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out[k] = append(out[k], v)
	}
	return out
}

// The systemd unit runs serve as the ticketd user, reloads with SIGHUP,
// restarts on failure, may bind port 25 and write only its data_dir, and
// systemd itself accepts it.
func TestSystemdUnit(t *testing.T) {
	path := "../../contrib/systemd/ticketd.service"
	u := unitSettings(t, path)
	want := map[string]string{
		"ExecStart":             "/usr/local/bin/ticketd serve -config /etc/ticketd/config.toml",
		"ExecReload":            "/bin/kill -HUP $MAINPID",
		"Restart":               "on-failure",
		"User":                  "ticketd",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ReadWritePaths":        "/var/lib/ticketd",
		"StateDirectory":        "ticketd",
		"AmbientCapabilities":   "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
	}
	for k, v := range want {
		if len(u[k]) != 1 || u[k][0] != v {
			t.Errorf("%s = %q, want %q", k, u[k], v)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found (.ci/run installs systemd)")
		}
		t.Skip("systemd-analyze not found; skipping systemd's own check of the unit")
	}
	// systemd checks the unit against the real binary.
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "ticketd.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(text), "/usr/local/bin/ticketd", ticketdBinary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
