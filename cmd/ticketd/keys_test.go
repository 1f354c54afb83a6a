package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
