package replykeys

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noTickets() (bool, error) { return false, nil }

// Two rotations in the same second keep both replaced keys, each valid
// for its own period; a ring opened before follows the files.
func TestRotateKeepsEveryReplacedKey(t *testing.T) {
	dir := t.TempDir()
	r, created, err := Open(dir, noTickets)
	if err != nil || !created {
		t.Fatalf("first open: %v %v", created, err)
	}
	first := r.Signing()
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if _, err := Rotate(dir, at); err != nil {
		t.Fatal(err)
	}
	second := r.Signing()
	if _, err := Rotate(dir, at.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	third := r.Signing()
	if bytes.Equal(first, second) || bytes.Equal(second, third) {
		t.Fatal("rotation did not change the signing key seen by an open ring")
	}
	keys := r.Verifying(at.Add(time.Hour), 24*time.Hour)
	if len(keys) != 3 || !bytes.Equal(keys[0], third) {
		t.Fatalf("verifying keys: %d", len(keys))
	}
	has := func(keys [][]byte, k []byte) bool {
		for _, x := range keys {
			if bytes.Equal(x, k) {
				return true
			}
		}
		return false
	}
	if !has(keys, first) || !has(keys, second) {
		t.Fatal("a replaced key is missing")
	}
	if keys := r.Verifying(at.Add(25*time.Hour), 24*time.Hour); len(keys) != 1 || !bytes.Equal(keys[0], third) {
		t.Fatalf("after old_keys_valid_for: %d keys", len(keys))
	}
	// Reopening reads the same ring from disk.
	r2, created, err := Open(dir, func() (bool, error) { return true, nil })
	if err != nil || created || !bytes.Equal(r2.Signing(), third) {
		t.Fatalf("reopen: %v %v", created, err)
	}
}

// A lost key with tickets in the database is an error naming the file;
// without tickets a key is made.
func TestOpenRefusesALostKey(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Open(dir, func() (bool, error) { return true, nil })
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), filepath.Join(dir, File)) {
		t.Fatalf("lost key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, File)); !os.IsNotExist(err) {
		t.Fatal("a key was made in place of the lost one")
	}
	if _, created, err := Open(dir, noTickets); err != nil || !created {
		t.Fatalf("fresh: %v %v", created, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, File)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
}

// A shared Ring signs with what it read until SharedRefresh has passed on
// its clock, reads again at once on Reload, verifies the retired keys for
// their period, and keeps the keys it has when the database cannot be read.
func TestSharedRingFollowsTheDatabase(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	now := at
	clock := func() time.Time { return now }
	k1, k2, k3 := New(), New(), New()
	db := struct {
		cur  []byte
		old  []Old
		down bool
	}{cur: k1}
	reads := 0
	src := func(context.Context) ([]byte, []Old, error) {
		reads++
		if db.down {
			return nil, nil, errors.New("connection refused")
		}
		return db.cur, append([]Old(nil), db.old...), nil
	}
	r, err := OpenShared(context.Background(), src, clock, slog.New(slog.DiscardHandler))
	if err != nil || !bytes.Equal(r.Signing(), k1) {
		t.Fatalf("open: %v", err)
	}
	// Another process rotates.
	db.cur, db.old = k2, []Old{{Key: k1, RetiredAt: at}}
	now = at.Add(SharedRefresh - time.Millisecond)
	if !bytes.Equal(r.Signing(), k1) || reads != 1 {
		t.Fatalf("read again before SharedRefresh (%d reads)", reads)
	}
	now = at.Add(SharedRefresh)
	if !bytes.Equal(r.Signing(), k2) || reads != 2 {
		t.Fatalf("not read again after SharedRefresh (%d reads)", reads)
	}
	if keys := r.Verifying(now, time.Hour); len(keys) != 2 || !bytes.Equal(keys[1], k1) {
		t.Fatalf("verifying within old_keys_valid_for: %d keys", len(keys))
	}
	if keys := r.Verifying(at.Add(time.Hour), time.Hour); len(keys) != 1 {
		t.Fatalf("verifying after old_keys_valid_for: %d keys", len(keys))
	}
	// A rotation is seen at once on Reload, which says whether it changed.
	db.cur, db.old = k3, []Old{{Key: k2, RetiredAt: now}, {Key: k1, RetiredAt: at}}
	if !r.Reload() || !bytes.Equal(r.Signing(), k3) {
		t.Fatal("Reload did not read the new key")
	}
	if r.Reload() {
		t.Fatal("Reload said the keys changed when they did not")
	}
	// The database goes away: the keys in memory stay, and it is not asked
	// again before the next period.
	db.down = true
	now = now.Add(SharedRefresh)
	n := reads
	if r.Reload() || !bytes.Equal(r.Signing(), k3) || len(r.Verifying(now, time.Hour)) != 3 || reads != n+1 {
		t.Fatalf("with the database down: %d reads since", reads-n)
	}
}
