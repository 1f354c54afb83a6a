// Package sqlite is the SQLite engine of ticketd's store: schema, migrations,
// transactions and queries. Only the store engines speak SQL.
//
// Writes go through Update, which runs many callers' work in one shared
// transaction (group commit): each caller's work sits in its own savepoint,
// so one failure rolls back only that caller, and every caller hears back
// only after the commit that made its work durable.
package sqlite

import (
	"github.com/ticketd/ticketd"

	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxBatch bounds how many callers share one transaction, so one batch's
// latency stays small even under a flood.
const maxBatch = 128

// Store is an open ticketd database.
type Store struct {
	w *sql.DB // exactly one connection: SQLite has one writer anyway
	r *sql.DB // readers, concurrent thanks to WAL

	// wStmts caches the writer's prepared statements. Readers go without:
	// preparing needs a free connection, and with every reader connection
	// in a transaction that waits on one, they would deadlock.
	wStmts *stmtCache

	jobs    chan *job
	closeMu sync.Mutex
	closed  bool
	done    chan struct{}

	stop chan struct{} // ends the background loops
}

type job struct {
	ctx  context.Context
	fn   func(ticketd.Tx) error
	done chan error
}

// Options tune Open.
type Options struct {
	// BusyTimeout is how long a writer waits for another process's lock.
	BusyTimeout time.Duration
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(path string, opt Options) (*Store, error) {
	if opt.BusyTimeout == 0 {
		opt.BusyTimeout = 30 * time.Second
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	// synchronous=FULL: a commit is on disk before Update returns, which is
	// what lets the SMTP server say 250.
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(opt.BusyTimeout.Milliseconds(), 10))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Transactions run one at a time on the writer goroutine; a second
	// connection prepares statements for the cache (Tx.StmtContext then
	// re-prepares them once on the transaction's connection), a third
	// runs checkpoints.
	w.SetMaxOpenConns(3)
	w.SetMaxIdleConns(3)
	w.SetConnMaxIdleTime(0)
	rq := url.Values{}
	rq.Set("_busy_timeout", strconv.FormatInt(opt.BusyTimeout.Milliseconds(), 10))
	rq.Set("_foreign_keys", "on")
	rq.Set("mode", "ro")
	// Each reader connection keeps the statements it ran prepared: the
	// outbox composes every mail with the same few reads, and preparing
	// them anew cost more than running them.
	rq.Set("_stmt_cache_size", "64")
	r, err := sql.Open(driverName, "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8) // a closed connection loses its statements
	s := &Store{w: w, r: r, jobs: make(chan *job, 1024), done: make(chan struct{}), stop: make(chan struct{}),
		wStmts: newStmtCache(w)}
	if err := s.migrate(); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	go s.writer()
	go s.every(checkpointInterval, s.checkpoint)
	go s.every(searchIndexInterval, s.indexIfPending)
	return s, nil
}

// driverName is go-sqlite3 with automatic checkpoints turned off: a
// checkpoint copies the WAL into the database and flushes it, and doing
// that inside a commit makes every few hundredth mail wait for it. The
// checkpointer goroutine does it in the background instead; a commit only
// has to flush the WAL, which is what makes it durable.
const driverName = "sqlite3_ticketd"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if _, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil); err != nil {
			return err
		}
		return registerSearchFuncs(c)
	}})
}

// checkpointInterval is how often the background checkpoint runs.
const checkpointInterval = 500 * time.Millisecond

// checkpoint copies committed WAL frames into the database file, beside
// the writer (PASSIVE never blocks it).
func (s *Store) checkpoint() {
	s.w.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
}

// every runs fn each interval until the store closes.
func (s *Store) every(interval time.Duration, fn func()) {
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

// Close stops the writer after the work already queued and closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.jobs)
	s.closeMu.Unlock()
	<-s.done
	close(s.stop)
	// Move what this process wrote into the main file. PASSIVE: a
	// short-lived process (inject) must never wait here for another's readers.
	s.w.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	s.wStmts.close()
	return errors.Join(s.w.Close(), s.r.Close())
}

func (s *Store) migrate() error {
	ctx := context.Background()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	// Look first, write only when something is missing: a process that
	// opens a database another one is writing to must not need the lock.
	var applied int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err == nil && applied >= len(names) {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return wrapErr("migrate", err)
	}
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with a number", base)
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return wrapErr("migrate", err)
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			tx.Rollback()
			return wrapErr("migrate", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if before := beforeMigration[v]; before != nil {
			if err := before(tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("store: migration %s: %w", base, err)
			}
		}
		body, _ := migrations.ReadFile(name)
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return wrapErr("migrate", err)
		}
		if err := tx.Commit(); err != nil {
			return wrapErr("migrate", err)
		}
	}
	return nil
}

// Update runs fn inside a write transaction shared with other callers that
// arrive at the same moment, and returns after the commit (or failure). fn
// must do only database work: it runs on the single writer goroutine.
func (s *Store) Update(ctx context.Context, fn func(ticketd.Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return errors.New("store: closed")
	}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		s.closeMu.Unlock()
		return ctx.Err()
	}
	s.closeMu.Unlock()
	// Wait for the commit even if ctx ends: the work may already be durable
	// and the caller must learn the truth.
	return <-j.done
}

// View runs fn in a read-only transaction on a reader connection.
func (s *Store) View(ctx context.Context, fn func(ticketd.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return wrapErr("begin read", err)
	}
	defer tx.Rollback()
	return fn(&Tx{tx: tx, ctx: ctx})
}

func (s *Store) writer() {
	defer close(s.done)
	for j := range s.jobs {
		batch := []*job{j}
	drain:
		for len(batch) < maxBatch {
			select {
			case j2, ok := <-s.jobs:
				if !ok {
					break drain
				}
				batch = append(batch, j2)
			default:
				break drain
			}
		}
		s.runBatch(batch)
	}
}

func (s *Store) runBatch(batch []*job) {
	ctx := context.Background()
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		err = wrapErr("begin", err)
		for _, j := range batch {
			j.done <- err
		}
		return
	}
	errs := make([]error, len(batch))
	ok := 0
	for i, j := range batch {
		if j.ctx.Err() != nil {
			errs[i] = j.ctx.Err()
			continue
		}
		tx := &Tx{tx: sqlTx, ctx: ctx, stmts: s.wStmts}
		if _, err := tx.exec("savepoint", `SAVEPOINT job`); err != nil {
			errs[i] = err
			continue
		}
		if err := runJob(j.fn, tx); err != nil {
			errs[i] = err
			if _, rerr := tx.exec("rollback to savepoint", `ROLLBACK TO job`); rerr != nil {
				// The transaction is unusable: fail everyone.
				sqlTx.Rollback()
				for k, j := range batch {
					j.done <- firstErr(errs[k], rerr)
				}
				return
			}
		} else {
			ok++
		}
		tx.exec("release savepoint", `RELEASE job`)
	}
	var cerr error
	if ok == 0 {
		sqlTx.Rollback()
	} else if err := sqlTx.Commit(); err != nil {
		cerr = wrapErr("commit", err)
		sqlTx.Rollback()
	}
	for i, j := range batch {
		if errs[i] == nil {
			errs[i] = cerr
		}
		j.done <- errs[i]
	}
}

func runJob(fn func(ticketd.Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: panic in transaction: %v", r)
		}
	}()
	return fn(tx)
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// wrapErr adds context and maps SQLite's lock errors to ticketd.ErrBusy.
func wrapErr(what string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return fmt.Errorf("store: %s: %w (%v)", what, ticketd.ErrBusy, err)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// Tx is one caller's view of a transaction.
type Tx struct {
	tx    *sql.Tx
	ctx   context.Context
	stmts *stmtCache
}

// stmt returns q prepared once per database and bound to this transaction:
// the hot path runs the same few statements for every mail, and parsing
// them again each time costs more than running them.
func (t *Tx) stmt(q string) (*sql.Stmt, error) {
	if t.stmts == nil {
		return nil, nil
	}
	st, err := t.stmts.get(t.ctx, q)
	if err != nil || st == nil {
		return nil, err
	}
	return t.tx.StmtContext(t.ctx, st), nil
}

func (t *Tx) exec(what, q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q)
	var res sql.Result
	if err == nil && st != nil {
		res, err = st.ExecContext(t.ctx, args...)
	} else if err == nil {
		res, err = t.tx.ExecContext(t.ctx, q, args...)
	}
	if err != nil {
		return nil, wrapErr(what, err)
	}
	return res, nil
}

func (t *Tx) queryRow(q string, args ...any) *sql.Row {
	if st, err := t.stmt(q); err == nil && st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

func (t *Tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, q, args...)
}

// stmtCache holds prepared statements of one database, by query text.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st, nil
	}
	// Multi-statement text cannot be prepared as one statement.
	if strings.Count(strings.TrimRight(strings.TrimSpace(q), ";"), ";") > 0 {
		return nil, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

func (t *Tx) insert(what, q string, args ...any) (int64, error) {
	res, err := t.exec(what, q, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

var (
	_ ticketd.Store = (*Store)(nil)
	_ ticketd.Tx    = (*Tx)(nil)
)

// update and view are Update and View for this package's own code, which
// needs the SQLite transaction itself.
func (s *Store) update(ctx context.Context, fn func(*Tx) error) error {
	return s.Update(ctx, func(t ticketd.Tx) error { return fn(t.(*Tx)) })
}

func (s *Store) view(ctx context.Context, fn func(*Tx) error) error {
	return s.View(ctx, func(t ticketd.Tx) error { return fn(t.(*Tx)) })
}
