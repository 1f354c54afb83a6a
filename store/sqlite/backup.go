package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// BackupTo writes a consistent copy of the database to path, which must
// not exist, while writers go on: VACUUM INTO reads one snapshot (a WAL
// read transaction, which blocks no writer), so every mail committed
// before it is in the copy with all its effects, and none committed after.
// The copy is compact and fsynced before BackupTo returns.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s already exists", path)
	}
	if _, err := s.r.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return wrapErr("backup", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer f.Close()
	return f.Sync()
}

// CheckBackup opens a copy made by BackupTo read-only and checks it as a
// database serve could open as it is: SQLite's integrity check passes, and
// it has every migration this binary knows. It returns how many tickets
// and messages it holds.
func CheckBackup(ctx context.Context, path string) (tickets, messages int, err error) {
	q := url.Values{}
	q.Set("mode", "ro")
	db, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return 0, 0, fmt.Errorf("store: check backup: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return 0, 0, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if len(problems) > 0 {
		return 0, 0, fmt.Errorf("store: check backup: integrity check: %s", strings.Join(problems, "; "))
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, 0, err
	}
	var applied int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return 0, 0, fmt.Errorf("store: check backup: %w", err)
	}
	if applied != len(names) {
		return 0, 0, fmt.Errorf("store: check backup: %d of %d migrations applied", applied, len(names))
	}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM messages)`).Scan(&tickets, &messages); err != nil {
		return 0, 0, fmt.Errorf("store: check backup: %w", err)
	}
	return tickets, messages, nil
}
