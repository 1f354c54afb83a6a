package oauth

import (
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data plus a newline, mode 0600: a
// reader sees the old token or the new one, never half of either, also
// after a crash.
func writeFileAtomic(path, data string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(data + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// SaveRefreshToken writes a refresh token to its file the way a Source
// does (atomically, mode 0600), for `ticketd oauth2 login`.
func SaveRefreshToken(path, token string) error { return writeFileAtomic(path, token) }
