package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// keys rotate keeps the old key in reply-keys/ and says until when it
// verifies; with the key lost for good it makes a new one, so serve starts.
func TestKeysRotate(t *testing.T) {
	dir, cfg := writeConfig(t, "")
	if r := runBin(t, "From: carla@cliente.example\r\nSubject: x\r\n\r\nx\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	data := filepath.Join(dir, "data")
	old, err := os.ReadFile(filepath.Join(data, "reply.key"))
	if err != nil {
		t.Fatal(err)
	}
	r := runBin(t, "", nil, "keys", "rotate", "-config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "signs from now on") || !strings.Contains(r.stdout, "server.old_keys_valid_for") {
		t.Fatalf("keys rotate: %d %q %q", r.code, r.stdout, r.stderr)
	}
	cur, _ := os.ReadFile(filepath.Join(data, "reply.key"))
	kept, _ := filepath.Glob(filepath.Join(data, "reply-keys", "*.key"))
	if bytes.Equal(cur, old) || len(cur) != 32 || len(kept) != 1 {
		t.Fatalf("after rotate: new key changed %v, kept %v", !bytes.Equal(cur, old), kept)
	}
	if b, _ := os.ReadFile(kept[0]); !bytes.Equal(b, old) {
		t.Fatal("the kept key is not the old one")
	}

	// Lost: inject (like serve) refuses and names the file...
	os.Remove(filepath.Join(data, "reply.key"))
	r = runBin(t, "From: carla@cliente.example\r\nSubject: y\r\n\r\ny\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com")
	if r.code == 0 || !strings.Contains(r.stderr, filepath.Join(data, "reply.key")+" does not exist") {
		t.Fatalf("inject with the key lost: %d %q", r.code, r.stderr)
	}
	// ...and so does serve, which does not start.
	if r := runBin(t, "", nil, "serve", "-config", cfg); r.code != 1 || !strings.Contains(r.stderr, filepath.Join(data, "reply.key")+" does not exist, but the database beside it holds tickets") {
		t.Fatalf("serve with the key lost: %d %q", r.code, r.stderr)
	}
	// keys rotate makes a new one.
	if r := runBin(t, "", nil, "keys", "rotate", "-config", cfg); r.code != 0 || !strings.Contains(r.stdout, "made a new reply key") {
		t.Fatalf("keys rotate with no key: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, "From: carla@cliente.example\r\nSubject: z\r\n\r\nz\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com"); r.code != 0 {
		t.Fatalf("inject after a new key: %d %q", r.code, r.stderr)
	}
}

// keys rotate on a PostgreSQL store makes the new key in the database,
// keeps the old one there as retired, and says so in the same words as on
// SQLite, naming the database without its password; on a database with no
// key yet it makes the first one.
func TestKeysRotatePostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := srv.NewDB(t)
	dir := t.TempDir()
	_, cfg := writeConfig(t, daemontest.BaseConfig(dir)+fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn))
	keys := func() ([]byte, []ticketd.RetiredKey) {
		t.Helper()
		st, err := postgres.Open(t.Context(), dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cur, old, err := st.ReplyKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return cur, old
	}

	first := runBin(t, "", nil, "keys", "rotate", "-config", cfg)
	if first.code != 0 || !strings.Contains(first.stdout, "made a new reply key in the database postgres://") {
		t.Fatalf("keys rotate on an empty database: %d %q %q", first.code, first.stdout, first.stderr)
	}
	if r := runBin(t, "From: carla@cliente.example\r\nSubject: x\r\n\r\nx\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	old, retired := keys()
	if len(old) != 32 || len(retired) != 0 {
		t.Fatalf("before the rotation: a key of %d bytes, %d retired", len(old), len(retired))
	}
	before := time.Now()
	r := runBin(t, "", nil, "keys", "rotate", "-config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "signs from now on") || !strings.Contains(r.stdout, "server.old_keys_valid_for") ||
		!strings.Contains(r.stdout, "within 10s") {
		t.Fatalf("keys rotate: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, pgtest.Password) {
		t.Fatalf("the password was printed: %q", r.stdout)
	}
	cur, retired := keys()
	if bytes.Equal(cur, old) || len(cur) != 32 || len(retired) != 1 || !bytes.Equal(retired[0].Key, old) {
		t.Fatalf("after rotate: new key changed %v, %d retired", !bytes.Equal(cur, old), len(retired))
	}
	if at := retired[0].RetiredAt; at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("the old key was retired at %v, not at the rotation (%v)", at, before)
	}
	// Nothing of the keys is in data_dir: it is the database's.
	if _, err := os.Stat(filepath.Join(dir, "data", "reply.key")); !os.IsNotExist(err) {
		t.Fatalf("a reply.key was written beside a PostgreSQL store: %v", err)
	}
}
