// Package postgres is the PostgreSQL engine of ticketd's store, for
// installations where several ticketd processes share one database.
//
// Every Update is one READ COMMITTED transaction on a pooled connection,
// with explicit locks where processes must take turns: a ticket read in a
// write transaction is locked (FOR UPDATE) until the commit, so two
// processes that change one ticket at once do it one after the other, the
// second on the first's result; a Message-ID looked up in a write
// transaction is locked too (a transaction-scoped advisory lock), so a
// mail delivered again while its first delivery is still committing (a
// sender that lost the 250 and retried on another process) waits, and is
// then seen to be a duplicate. Outbox claims skip rows another process is
// claiming (SKIP LOCKED). The agents' desk UIDs a commit's changes are
// owed are drawn right after it, under one advisory lock, so that they
// become visible in the order they were issued (migration 0007). A
// transaction that deadlocks (or fails to serialize) runs again from the
// start, as the ticketd.Store contract allows. (SERIALIZABLE was tried
// first: its predicate locks made concurrent new tickets abort each other
// so often that ingest at 16 connections failed; REPEATABLE READ next: its
// snapshot, taken before a lock wait, hid the commit that was waited for.)
// Update returns only after the commit, which PostgreSQL
// (synchronous_commit on, the default) makes durable before it answers;
// concurrent commits are flushed together by the server, so there is no
// group commit of our own.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketd/ticketd"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune Open.
type Options struct {
	// MaxConns bounds the pool (default 16).
	MaxConns int32
	// Retries is how often Update runs fn again after a serialization
	// failure or a deadlock (default 20).
	Retries int
}

// Store is an open PostgreSQL database.
type Store struct {
	pool    *pgxpool.Pool
	retries int

	settles deskSettles

	closeOnce sync.Once
	stop      chan struct{}
	loops     sync.WaitGroup
}

// Open connects to dsn, migrates the database (one process at a time,
// under an advisory lock) and starts the background search indexer.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres dsn: %w", err)
	}
	if opt.MaxConns == 0 {
		opt.MaxConns = 16
	}
	if opt.Retries == 0 {
		opt.Retries = 20
	}
	cfg.MaxConns = opt.MaxConns
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "ticketd"
	}
	// No JIT compilation: the store's queries are short, and the planner
	// overestimates what a full-text match returns (about 2 % of all
	// messages for any prefix), so at a million messages a search for a
	// ticket number or a rare word spent more time compiling (7 ms and
	// more) than running. "?jit=on" in the DSN turns it back on.
	if _, ok := cfg.ConnConfig.RuntimeParams["jit"]; !ok {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	s := &Store{pool: pool, retries: opt.Retries, stop: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.loops.Add(2)
	go s.every(searchIndexInterval, s.indexIfPending)
	go s.every(deskSettleInterval, s.settleDeskInBackground)
	return s, nil
}

// Pool returns the connection pool (store copy and tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops the background loops and closes the pool, after the
// transactions in flight.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.loops.Wait()
		s.pool.Close()
	})
	return nil
}

func (s *Store) every(interval time.Duration, fn func()) {
	defer s.loops.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// lockKey turns a name into the key of a PostgreSQL advisory lock. The
// high bits name ticketd, so that its locks stay apart from other users
// of the same database.
func lockKey(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int64(0x7469636b)<<32 | int64(h.Sum32())
}

// Exclusive runs fn while holding an advisory lock named name: no other
// process on this database runs fn under the same name at the same time.
// It waits for the lock until ctx ends. A process that dies holding it
// loses its connection, and with it the lock.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(context.Context) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrapErr("lock "+name, err)
	}
	defer conn.Release()
	key := lockKey(name)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		// The connection may be in an unknown state (a cancelled wait).
		conn.Conn().Close(context.Background())
		return wrapErr("lock "+name, err)
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	return fn(ctx)
}

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return s.Exclusive(ctx, "migrate", func(ctx context.Context) error {
		if _, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return wrapErr("migrate", err)
		}
		for _, name := range names {
			base := path.Base(name)
			v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("store: migration %s: name must start with a number", base)
			}
			var done bool
			if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, v).Scan(&done); err != nil {
				return wrapErr("migrate", err)
			}
			if done {
				continue
			}
			body, _ := migrations.ReadFile(name)
			err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				// Simple protocol: a migration is several statements.
				if _, err := tx.Exec(ctx, string(body), pgx.QueryExecModeSimpleProtocol); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, v)
				return err
			})
			if err != nil {
				return fmt.Errorf("store: migration %s: %w", base, err)
			}
		}
		return nil
	})
}

// Update runs fn in a READ COMMITTED transaction (see the package
// comment for its locks) and returns after the commit. A transaction that
// PostgreSQL aborted (a deadlock, a serialization failure) runs again,
// after a short random pause.
func (s *Store) Update(ctx context.Context, fn func(ticketd.Tx) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn, true)
		if err == nil {
			// The desk UIDs this commit made owed, drawn before Update
			// returns, so the caller (and the desk it notifies) sees them.
			s.settleAfterCommit()
			break
		}
		if !retryable(err) || attempt >= s.retries || ctx.Err() != nil {
			break
		}
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
	}
	return err
}

// View runs fn in a read-only transaction. REPEATABLE READ: fn sees one
// snapshot of the database, as on SQLite.
func (s *Store) View(ctx context.Context, fn func(ticketd.Tx) error) error {
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn, false)
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, fn func(ticketd.Tx) error, write bool) (err error) {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return wrapErr("begin", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: panic in transaction: %v", r)
		}
		if err != nil {
			tx.Rollback(context.Background())
		}
	}()
	if err := fn(&Tx{tx: tx, ctx: ctx, write: write}); err != nil {
		return err
	}
	// The commit must not be cut short by the caller's context: its
	// outcome is what the caller has to learn.
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return wrapErr("commit", err)
	}
	return nil
}

// retryable reports a transaction PostgreSQL aborted that may simply run
// again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// ErrUnavailable wraps errors that mean the database could not be reached
// (no connection, a connection lost): the caller answers "try again later".
var ErrUnavailable = errors.New("store: database unavailable")

// wrapErr adds context, and marks errors that mean the database could not
// be reached with ErrUnavailable. Every error of a write is a temporary
// failure for intake (451, exit 75); the mark lets logs and messages say why.
func wrapErr(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) {
		return fmt.Errorf("store: %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, pgx.ErrTxClosed) || strings.Contains(err.Error(), "conn closed")
}

// Tx is one caller's view of a transaction.
type Tx struct {
	tx    pgx.Tx
	ctx   context.Context
	write bool // an Update: rows read to be changed are locked
}

func (t *Tx) exec(what, q string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(t.ctx, q, args...)
	if err != nil {
		return tag, wrapErr(what, err)
	}
	return tag, nil
}

func (t *Tx) queryRow(q string, args ...any) pgx.Row { return t.tx.QueryRow(t.ctx, q, args...) }

func (t *Tx) query(q string, args ...any) (pgx.Rows, error) { return t.tx.Query(t.ctx, q, args...) }

// insertID runs an INSERT … RETURNING id.
func (t *Tx) insertID(what, q string, args ...any) (int64, error) {
	var id int64
	if err := t.tx.QueryRow(t.ctx, q, args...).Scan(&id); err != nil {
		return 0, wrapErr(what, err)
	}
	return id, nil
}

var (
	_ ticketd.Store = (*Store)(nil)
	_ ticketd.Tx    = (*Tx)(nil)
)

// ReplyKey returns the key that signs reply addresses, storing fresh when
// the database has none: the first process's key is every process's.
func (s *Store) ReplyKey(ctx context.Context, fresh []byte) ([]byte, error) {
	var key []byte
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets(name, value) VALUES ('reply_key', $1) ON CONFLICT (name) DO NOTHING`, fresh); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = 'reply_key'`).Scan(&key)
	})
	if err != nil {
		return nil, wrapErr("reply key", err)
	}
	return key, nil
}

var _ ticketd.Shared = (*Store)(nil)
