// Package replykeys owns the HMAC keys that sign agents' reply addresses,
// kept in the data directory: reply.key signs (and verifies), and the keys
// it replaced, in reply-keys/, keep verifying the addresses they signed
// for [server] old_keys_valid_for after `ticketd keys rotate`.
//
// Losing reply.key is never silent: Open refuses to make a new one when
// the database already holds tickets (every reply address handed out
// would stop working), and says which file to restore.
package replykeys

import (
	"crypto/rand"
	"errors"
	"fmt"
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

// Ring is the keys of one data directory. Signing and Verifying re-read
// the files when reply.key changed on disk, so a `ticketd keys rotate`
// beside a running daemon takes effect at once. It is safe for concurrent use.
type Ring struct {
	dataDir string

	mu      sync.Mutex
	current []byte
	old     []Old
	stamp   fileStamp
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
// another process). A failed read keeps the keys in memory.
func (r *Ring) refresh() {
	fi, err := os.Stat(filepath.Join(r.dataDir, File))
	if err != nil || stampOf(fi) == r.stamp {
		return
	}
	r.load()
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
