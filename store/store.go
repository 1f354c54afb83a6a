// Package store opens the configured engine behind ticketd's store
// interfaces (ticketd.Store). Each engine lives in a package of its own
// (store/sqlite, store/postgres) and passes the contract suite in
// store/storetest.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/store/postgres"
	"github.com/ticketd/ticketd/store/sqlite"
)

// Options tune Open.
type Options struct {
	// BusyTimeout is how long a writer waits for another process's lock
	// (default 30 s; SQLite).
	BusyTimeout time.Duration
	// Wait keeps trying to reach a PostgreSQL server that does not answer,
	// with backoff (1 s doubling, at most 30 s), until ctx ends: a daemon
	// started before its database comes up waits for it. Without Wait the
	// first failure is returned (inject then exits 75).
	Wait bool
	// Log hears of each failed attempt while waiting.
	Log *slog.Logger
}

// DBPath is where the SQLite database lives in a data directory.
func DBPath(dataDir string) string { return filepath.Join(dataDir, "ticketd.db") }

// Open opens (creating and migrating if needed) the SQLite store of a data
// directory.
func Open(dataDir string, opt Options) (ticketd.Store, error) {
	return sqlite.Open(DBPath(dataDir), sqlite.Options{BusyTimeout: opt.BusyTimeout})
}

// OpenConfig opens the engine [store] names: SQLite in data_dir, or the
// PostgreSQL database of store.dsn.
func OpenConfig(ctx context.Context, cfg *config.Config, opt Options) (ticketd.Store, error) {
	if cfg.Store.Driver != config.DriverPostgres {
		return Open(cfg.Server.DataDir, opt)
	}
	wait := time.Second
	for {
		st, err := postgres.Open(ctx, cfg.Store.DSN, postgres.Options{})
		if err == nil {
			return st, nil
		}
		if !opt.Wait || ctx.Err() != nil {
			return nil, err
		}
		if opt.Log != nil {
			opt.Log.Error("database unavailable, retrying", "retry_in", wait.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up waiting: %v)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
