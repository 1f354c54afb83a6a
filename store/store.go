// Package store opens the configured engine behind ticketd's store
// interfaces (ticketd.Store). Each engine lives in a package of its own
// (store/sqlite) and passes the contract suite in store/storetest.
package store

import (
	"path/filepath"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/store/sqlite"
)

// Options tune Open.
type Options struct {
	// BusyTimeout is how long a writer waits for another process's lock
	// (default 30 s).
	BusyTimeout time.Duration
}

// DBPath is where the SQLite database lives in a data directory.
func DBPath(dataDir string) string { return filepath.Join(dataDir, "ticketd.db") }

// Open opens (creating and migrating if needed) the store of a data directory.
func Open(dataDir string, opt Options) (ticketd.Store, error) {
	return sqlite.Open(DBPath(dataDir), sqlite.Options{BusyTimeout: opt.BusyTimeout})
}
