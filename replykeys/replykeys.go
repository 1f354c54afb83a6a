// Package replykeys owns the HMAC keys that sign agents' reply addresses,
// kept in the data directory: reply.key signs (and verifies), and the keys
// it replaced, in reply-keys/, keep verifying the addresses they signed
// for [server] old_keys_valid_for after `ticketd keys rotate`. On a
// database several processes share (PostgreSQL) the same keys live in the
// database instead, and a Ring of OpenShared re-reads them from there.
//
// Losing reply.key is never silent: Open refuses to make a new one when
// the database already holds tickets (every reply address handed out
// would stop working), and says which file to restore.
package replykeys

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// File and Dir are where the keys live inside a data directory.
const (
	File = "reply.key"
	Dir  = "reply-keys"
)

// keySize is the length of a new key (HMAC-SHA256's block is larger; 32
// random bytes is its full strength).
const keySize = 32

// retiredLayout names a replaced key by the moment it was replaced.
const retiredLayout = "20060102T150405.000000000Z"

// ErrMissing reports a data directory whose database holds tickets but
// whose reply.key is gone.
var ErrMissing = errors.New("reply key missing")

// Old is a key replaced by a rotation.
type Old struct {
	Key       []byte
	RetiredAt time.Time
}

// Ring is the keys of one data directory, or of a shared database.
// Signing and Verifying re-read the files when reply.key changed on disk,
// so a `ticketd keys rotate` beside a running daemon takes effect at once;
// a shared Ring re-reads the database every SharedRefresh, and at once
// when Reload is called (a reply address that none of its keys verify).
// It is safe for concurrent use.
type Ring struct {
	dataDir string
	src     Source // nil: the files of dataDir
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	current []byte
	old     []Old
	stamp   fileStamp
	readAt  time.Time // a shared Ring: when src was last read
}

// Source reads the keys of a database several processes share: the one
// that signs, and those it replaced.
type Source func(ctx context.Context) (current []byte, old []Old, err error)

// SharedRefresh is how often a Ring on a shared database reads the keys
// again: a rotation by any process is used for signing by every other one
// within this long (it verifies at once: see Reload).
const SharedRefresh = 10 * time.Second

// sharedReadTimeout bounds one read of a shared Ring's keys; a read that
// fails keeps the keys in memory.
const sharedReadTimeout = 5 * time.Second

// OpenShared reads the keys of a shared database from src; now is the
// clock that times SharedRefresh. The database must hold a signing key
// (the first process stores one: ticketd.Shared.ReplyKey).
func OpenShared(ctx context.Context, src Source, now func() time.Time, log *slog.Logger) (*Ring, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Ring{src: src, now: now, log: log}
	cur, old, err := src(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.setShared(cur, old); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Ring) setShared(cur []byte, old []Old) error {
	if len(cur) < keySize {
		return fmt.Errorf("the database's reply key holds %d bytes, not a key of %d", len(cur), keySize)
	}
	sort.Slice(old, func(i, j int) bool { return old[i].RetiredAt.After(old[j].RetiredAt) })
	r.current, r.old, r.readAt = cur, old, r.now()
	return nil
}

// readShared reads the keys from the database, keeping those in memory
// when that fails; it reports whether the keys changed.
func (r *Ring) readShared() bool {
	ctx, cancel := context.WithTimeout(context.Background(), sharedReadTimeout)
	defer cancel()
	cur, old, err := r.src(ctx)
	if err == nil {
		before, nOld := r.current, len(r.old)
		if err = r.setShared(cur, old); err == nil {
			return !bytes.Equal(before, r.current) || nOld != len(r.old)
		}
	}
	// Not again before the next period: a database that is down is not
	// asked once per mail.
	r.readAt = r.now()
	r.log.Warn("could not read the reply keys from the database; keeping those read before", "err", err)
	return false
}

type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ino: inode(fi)}
}

// Open loads the keys of dataDir. When reply.key does not exist it makes
// one, unless hasTickets says the database already holds tickets: then the
// key was lost, and Open fails with ErrMissing naming the file. created
// reports a new key, for the caller to log.
func Open(dataDir string, hasTickets func() (bool, error)) (r *Ring, created bool, err error) {
	path := filepath.Join(dataDir, File)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		used, err := hasTickets()
		if err != nil {
			return nil, false, err
		}
		if used {
			return nil, false, fmt.Errorf("%w: %s does not exist, but the database beside it holds tickets: "+
				"restore %s from a backup (every reply address handed out needs it), or, if it is lost for good, "+
				"run `ticketd keys rotate` to make a new one (replies to earlier notifications will then be treated as unverified)",
				ErrMissing, path, File)
		}
		if created, err = create(path); err != nil {
			return nil, false, err
		}
	}
	r = &Ring{dataDir: dataDir}
	if err := r.load(); err != nil {
		return nil, false, err
	}
	return r, created, nil
}

// New draws a new random key.
func New() []byte {
	key := make([]byte, keySize)
	rand.Read(key)
	return key
}

// create writes a new random key at path; false when another process
// made one first (O_EXCL: both then use the same key).
func create(path string) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return false, err
	}
	key := make([]byte, keySize)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(path))
}

func (r *Ring) load() error {
	path := filepath.Join(r.dataDir, File)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) < keySize {
		return fmt.Errorf("%s holds %d bytes, not a key of %d", path, len(b), keySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	old, err := readOld(filepath.Join(r.dataDir, Dir))
	if err != nil {
		return err
	}
	r.current, r.old, r.stamp = b, old, stampOf(fi)
	return nil
}

func readOld(dir string) ([]Old, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Old
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".key")
		if !ok {
			continue
		}
		at, err := time.Parse(retiredLayout, name)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if len(b) >= keySize {
			out = append(out, Old{Key: b, RetiredAt: at})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RetiredAt.After(out[j].RetiredAt) })
	return out, nil
}

// refresh re-reads the keys when reply.key changed on disk (a rotation by
// another process), or, for a shared Ring, when SharedRefresh has passed
// since they were read. A failed read keeps the keys in memory.
func (r *Ring) refresh() {
	if r.src != nil {
		if age := r.now().Sub(r.readAt); age >= SharedRefresh || age < 0 {
			r.readShared()
		}
		return
	}
	fi, err := os.Stat(filepath.Join(r.dataDir, File))
	if err != nil || stampOf(fi) == r.stamp {
		return
	}
	r.load()
}

// Reload reads the keys again now, and reports whether they changed: a
// reply address none of the keys in memory verify may be signed by a key
// another process made since.
func (r *Ring) Reload() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.src != nil {
		return r.readShared()
	}
	before, nOld := r.current, len(r.old)
	if err := r.load(); err != nil {
		return false
	}
	return !bytes.Equal(before, r.current) || nOld != len(r.old)
}

// Signing is the key new reply addresses are signed with.
func (r *Ring) Signing() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	return r.current
}

// Verifying is every key a reply address may be signed with at now: the
// current one, then those replaced less than validFor ago.
func (r *Ring) Verifying(now time.Time, validFor time.Duration) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	keys := [][]byte{r.current}
	for _, o := range r.old {
		if now.Sub(o.RetiredAt) < validFor {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// Rotate makes a new signing key in dataDir, keeping the current one (if
// any) in reply-keys/ as replaced at now. Each step is durable before the
// next, and reply.key is replaced by a rename, so a crash leaves either
// the old key or the new one in place, never none.
func Rotate(dataDir string, now time.Time) (hadKey bool, err error) {
	path := filepath.Join(dataDir, File)
	cur, err := os.ReadFile(path)
	switch {
	case err == nil:
		hadKey = true
		dir := filepath.Join(dataDir, Dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
		if err := writeFile(filepath.Join(dir, now.UTC().Format(retiredLayout)+".key"), cur); err != nil {
			return false, err
		}
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return false, err
		}
	default:
		return false, err
	}
	key := make([]byte, keySize)
	rand.Read(key)
	tmp := path + ".new"
	if err := writeFile(tmp, key); err != nil {
		return hadKey, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return hadKey, err
	}
	return hadKey, syncDir(dataDir)
}

// writeFile writes b durably (file and directory entry) with mode 0600.
func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Read returns the keys of dataDir as they are on disk: the signing key
// (nil when reply.key does not exist) and the keys it replaced, newest
// first.
func Read(dataDir string) (current []byte, old []Old, err error) {
	current, err = os.ReadFile(filepath.Join(dataDir, File))
	if errors.Is(err, os.ErrNotExist) {
		current, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	old, err = readOld(filepath.Join(dataDir, Dir))
	return current, old, err
}

// CopyTo copies the key files of dataDir into dst (a backup), durably.
func CopyTo(dataDir, dst string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, File))
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dst, File), b); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(dataDir, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, Dir), 0o700); err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".key") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dataDir, Dir, e.Name()))
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dst, Dir, e.Name()), b); err != nil {
			return err
		}
	}
	return nil
}
