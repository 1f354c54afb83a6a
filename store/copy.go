package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd/replykeys"
	"github.com/ticketd/ticketd/store/postgres"
)

// column kinds of the copied tables, as SQLite stores them.
const (
	kInt  = iota // INTEGER
	kText        // TEXT
	kBlob        // BLOB
	kTime        // INTEGER Unix milliseconds -> timestamptz
	kBool        // INTEGER 0/1 -> boolean
)

type column struct {
	name string
	kind int
}

type table struct {
	name     string
	cols     []column
	order    string // the primary key, for a stable hash
	identity string // the identity column whose sequence moves past the copied ids
}

func cols(spec string) []column {
	var out []column
	for _, f := range strings.Fields(spec) {
		name, k, _ := strings.Cut(f, ":")
		out = append(out, column{name, map[string]int{"i": kInt, "t": kText, "b": kBlob, "T": kTime, "B": kBool}[k]})
	}
	return out
}

// copied lists every table of an installation, parents before children.
// What it leaves out, and why, is named in copy_schema_test.go, which
// fails on a table or column of the SQLite schema that is neither.
var copied = []table{
	{"raw_messages", cols("id:i received_at:T source:t envelope_from:t recipients:t size:i sha256:t data:b"), "id", "id"},
	{"tickets", cols("number:i token:t mailbox:t requester_addr:t requester_name:t subject:t status:t assignee:t priority:t created_at:T updated_at:T pending_since:T reminder_sent_at:T closed_at:T"), "number", "number"},
	{"messages", cols("id:i ticket:i raw_id:i author:t from_addr:t from_name:t message_id:t subject:t text:t new_text:t cut_flagged:B internal:B automatic:B unverified:B participants:t parse_error:t created_at:T outsider:B html:t"), "id", "id"},
	{"attachments", cols("id:i message:i part_index:i filename:t content_type:t size:i content_id:t inline:B"), "id", "id"},
	{"attachment_data", cols("attachment:i data:b"), "attachment", ""},
	{"events", cols("id:i ticket:i type:t actor:t at:T detail:t"), "id", "id"},
	{"outbox", cols("id:i ticket:i kind:t rcpt:t message_ref:i message_id:t params:t state:t created_at:T next_at:T attempts:i last_error:t sent_at:T claimed_by:t"), "id", "id"},
	{"tags", cols("ticket:i tag:t"), "ticket, tag", ""},
	{"imap_state", cols("addr:t username:t folder:t uid_validity:i last_uid:i backlog_top:i updated_at:T"), "addr, username, folder", ""},
	{"desk_uids", cols("uid:i ticket:i"), "uid", ""},
	{"desk_seen", cols("agent:t uid:i"), "agent, uid", ""},
	{"desk_agents", cols("email:t password_hash:t password_at:T uid_validity:i scope:t"), "email", ""},
	{"desk_digests", cols("agent:t day:t at:T"), "agent, day", ""},
}

// deskTriggers issue desk UIDs on PostgreSQL (its migration 0007). They
// are off while the copy writes, so that the tickets keep the UIDs they
// have (desk_uids is copied as it is), and mail clients their caches.
var deskTriggers = [][2]string{
	{"tickets", "desk_ticket_insert"}, {"tickets", "desk_ticket_update"},
	{"messages", "desk_message_insert"}, {"tags", "desk_tag_insert"}, {"tags", "desk_tag_delete"},
}

// setDeskTriggers turns the desk's triggers off (or on again).
func setDeskTriggers(ctx context.Context, tx pgx.Tx, on bool) error {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, tt := range deskTriggers {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+tt[0]+` `+verb+` TRIGGER `+tt[1]); err != nil {
			return fmt.Errorf("desk trigger %s: %w", tt[1], err)
		}
	}
	return nil
}

// copyDeskCounter moves the target's desk UID sequence to the source's
// last UID issued, so that the next one is above every UID a mail client
// has seen, and checks that it is the highest copied.
func copyDeskCounter(ctx context.Context, stx *sql.Tx, tx pgx.Tx) (CopyResult, error) {
	var seq int64
	err := stx.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'desk_uids'), 0)`).Scan(&seq)
	if err != nil {
		return CopyResult{}, err
	}
	var top int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(uid), 0) FROM desk_uids`).Scan(&top); err != nil {
		return CopyResult{}, err
	}
	if top != seq {
		return CopyResult{}, fmt.Errorf("the highest UID copied is %d, the last issued %d", top, seq)
	}
	if _, err := tx.Exec(ctx, `SELECT setval('desk_uid_seq', GREATEST($1::bigint, 1), $1::bigint > 0)`, seq); err != nil {
		return CopyResult{}, err
	}
	h := newRowHash()
	h.begin()
	h.add(column{"last_uid", kInt}, seq)
	return CopyResult{Table: "desk last uid", Rows: 1, SHA256: h.sum()}, nil
}

// CopyResult is what Copy found and wrote, per table.
type CopyResult struct {
	Table  string
	Rows   int64
	SHA256 string // of the rows in primary-key order, the same on both sides
}

// ErrTargetNotEmpty is Copy's refusal of a database that already holds data.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// Copy copies the SQLite installation of dataDir (every table, and the
// reply-address key) into the empty PostgreSQL database dsn, in one
// transaction: it verifies each table's row count and content hash on the
// target before committing, so a copy that does not match leaves the
// target as empty as it found it. It refuses a target that holds any data.
// The source is read in one snapshot; stop the daemon first, or mail that
// arrives during the copy stays behind.
func Copy(ctx context.Context, dataDir, dsn string, progress io.Writer) ([]CopyResult, error) {
	path := DBPath(dataDir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store copy: source: %w", err)
	}
	// Both schemas up to date first, with the migrations serve uses.
	if s, err := Open(dataDir, Options{}); err != nil {
		return nil, err
	} else {
		s.Close()
	}
	pg, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	src, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=30000")
	if err != nil {
		return nil, fmt.Errorf("store copy: open %s: %w", path, err)
	}
	defer src.Close()
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store copy: read %s: %w", path, err)
	}
	defer stx.Rollback()
	// The reply keys: the one that signs, and those it replaced, which keep
	// verifying the addresses they signed on the target too.
	key, retired, err := replykeys.Read(dataDir)
	if err != nil {
		return nil, fmt.Errorf("store copy: reply keys: %w", err)
	}

	var out []CopyResult
	err = pgx.BeginFunc(ctx, pg.Pool(), func(tx pgx.Tx) error {
		// Nobody else writes while we copy, and a second copy waits.
		if _, err := tx.Exec(ctx, `LOCK TABLE raw_messages, tickets, messages, attachments, events, outbox, tags, imap_state, secrets IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE desk_uids, desk_seen, desk_agents, desk_digests IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := setDeskTriggers(ctx, tx, false); err != nil {
			return err
		}
		for _, t := range append(copied, table{name: "secrets"}) {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: table %s has %d rows", ErrTargetNotEmpty, t.name, n)
			}
		}
		for _, t := range copied {
			res, err := copyTable(ctx, stx, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			got, err := hashTarget(ctx, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: verify: %w", t.name, err)
			}
			if got != res {
				return fmt.Errorf("table %s: the target does not match: source %d rows %s, target %d rows %s", t.name, res.Rows, res.SHA256, got.Rows, got.SHA256)
			}
			if t.identity != "" {
				if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', '%[2]s'), COALESCE((SELECT MAX(%[2]s) FROM %[1]s), 0) + 1, false)`, t.name, t.identity)); err != nil {
					return fmt.Errorf("table %s: sequence: %w", t.name, err)
				}
			}
			if progress != nil {
				fmt.Fprintf(progress, "%-13s %8d rows  sha256 %s  verified\n", t.name, res.Rows, res.SHA256)
			}
			out = append(out, res)
		}
		desk, err := copyDeskCounter(ctx, stx, tx)
		if err != nil {
			return fmt.Errorf("desk last uid: %w", err)
		}
		if progress != nil {
			fmt.Fprintf(progress, "%-13s %8d rows  sha256 %s  verified\n", desk.Table, desk.Rows, desk.SHA256)
		}
		out = append(out, desk)
		if err := setDeskTriggers(ctx, tx, true); err != nil {
			return err
		}
		if len(key) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO secrets(name, value) VALUES ('reply_key', $1)`, key); err != nil {
				return fmt.Errorf("reply key: %w", err)
			}
			var got []byte
			if err := tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = 'reply_key'`).Scan(&got); err != nil || string(got) != string(key) {
				return fmt.Errorf("reply key: not stored as read (%v)", err)
			}
			sum := sha256.Sum256(key)
			res := CopyResult{Table: "reply key", Rows: 1, SHA256: hex.EncodeToString(sum[:])}
			if progress != nil {
				fmt.Fprintf(progress, "%-13s %8d rows  sha256 %s  verified\n", res.Table, res.Rows, res.SHA256)
			}
			out = append(out, res)
		}
		res, err := copyRetiredKeys(ctx, tx, retired)
		if err != nil {
			return fmt.Errorf("retired reply keys: %w", err)
		}
		if progress != nil {
			fmt.Fprintf(progress, "%-13s %8d rows  sha256 %s  verified\n", res.Table, res.Rows, res.SHA256)
		}
		out = append(out, res)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store copy: %w", err)
	}
	// The search index is the engine's own: build it now rather than in the
	// first daemon's background.
	n, err := pg.IndexSearch(ctx)
	if err != nil {
		return out, fmt.Errorf("store copy: search index: %w", err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "search index: %d messages\n", n)
	}
	return out, nil
}

// copyRetiredKeys stores the keys a data_dir's rotations replaced
// (reply-keys/) in retired_reply_keys, each with the moment it was
// replaced, and verifies them as read back.
func copyRetiredKeys(ctx context.Context, tx pgx.Tx, keys []replykeys.Old) (CopyResult, error) {
	if _, err := tx.Exec(ctx, `LOCK TABLE retired_reply_keys IN EXCLUSIVE MODE`); err != nil {
		return CopyResult{}, err
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM retired_reply_keys`).Scan(&n); err != nil {
		return CopyResult{}, err
	}
	if n > 0 {
		return CopyResult{}, fmt.Errorf("%w: table retired_reply_keys has %d rows", ErrTargetNotEmpty, n)
	}
	keyCols := []column{{"value", kBlob}, {"retired_at", kTime}}
	src := newRowHash()
	// Oldest first, as the rotations made them.
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		if _, err := tx.Exec(ctx, `INSERT INTO retired_reply_keys(value, retired_at) VALUES ($1, $2)`, k.Key, k.RetiredAt); err != nil {
			return CopyResult{}, err
		}
		src.begin()
		src.add(keyCols[0], k.Key)
		src.add(keyCols[1], k.RetiredAt)
	}
	want := CopyResult{Table: "retired keys", Rows: int64(len(keys)), SHA256: src.sum()}
	rows, err := tx.Query(ctx, `SELECT value, retired_at FROM retired_reply_keys ORDER BY id`)
	if err != nil {
		return CopyResult{}, err
	}
	defer rows.Close()
	got := newRowHash()
	n = 0
	for rows.Next() {
		var value []byte
		var at time.Time
		if err := rows.Scan(&value, &at); err != nil {
			return CopyResult{}, err
		}
		got.begin()
		got.add(keyCols[0], value)
		got.add(keyCols[1], at)
		n++
	}
	if err := rows.Err(); err != nil {
		return CopyResult{}, err
	}
	if n != want.Rows || got.sum() != want.SHA256 {
		return CopyResult{}, fmt.Errorf("the target does not match: source %d rows %s, target %d rows %s", want.Rows, want.SHA256, n, got.sum())
	}
	return want, nil
}

// copyTable streams one table from SQLite into PostgreSQL (COPY) and
// returns its count and hash as read from the source.
func copyTable(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t table) (CopyResult, error) {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	rows, err := stx.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.name+` ORDER BY `+t.order)
	if err != nil {
		return CopyResult{}, err
	}
	defer rows.Close()
	h := newRowHash()
	var n int64
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var scanErr error
	_, err = tx.CopyFrom(ctx, pgx.Identifier{t.name}, names, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			scanErr = err
			return nil, err
		}
		out := make([]any, len(t.cols))
		h.begin()
		for i, c := range t.cols {
			v, err := fromSQLite(c, vals[i])
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.name, err)
			}
			h.add(c, v)
			out[i] = v
		}
		n++
		return out, nil
	}))
	if scanErr != nil {
		return CopyResult{}, scanErr
	}
	if err != nil {
		return CopyResult{}, err
	}
	return CopyResult{Table: t.name, Rows: n, SHA256: h.sum()}, nil
}

// fromSQLite converts one SQLite value to what the PostgreSQL column takes.
func fromSQLite(c column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.kind {
	case kText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		}
	case kBlob:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case kInt, kTime, kBool:
		x, ok := v.(int64)
		if !ok {
			break
		}
		switch c.kind {
		case kTime:
			return time.UnixMilli(x).UTC(), nil
		case kBool:
			return x != 0, nil
		}
		return x, nil
	}
	return nil, fmt.Errorf("unexpected value of type %T", v)
}

// hashTarget reads a table back from PostgreSQL in primary-key order.
func hashTarget(ctx context.Context, tx pgx.Tx, t table) (CopyResult, error) {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	rows, err := tx.Query(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.name+` ORDER BY `+pgOrder(t))
	if err != nil {
		return CopyResult{}, err
	}
	defer rows.Close()
	h := newRowHash()
	var n int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return CopyResult{}, err
		}
		h.begin()
		for i, c := range t.cols {
			v := vals[i]
			switch x := v.(type) {
			case int32:
				v = int64(x)
			case int16:
				v = int64(x)
			}
			h.add(c, v)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return CopyResult{}, err
	}
	return CopyResult{Table: t.name, Rows: n, SHA256: h.sum()}, nil
}

// pgOrder is t.order for PostgreSQL: text keys in byte order (collation
// "C"), as SQLite's BINARY sorts them, whatever the database's collation.
func pgOrder(t table) string {
	kinds := map[string]int{}
	for _, c := range t.cols {
		kinds[c.name] = c.kind
	}
	var out []string
	for _, k := range strings.Split(t.order, ",") {
		k = strings.TrimSpace(k)
		if kinds[k] == kText {
			k += ` COLLATE "C"`
		}
		out = append(out, k)
	}
	return strings.Join(out, ", ")
}

// rowHash hashes rows in one canonical encoding whichever engine they were
// read from: every value tagged with its kind and length, times as Unix
// milliseconds, booleans as 0/1.
type rowHash struct{ h hash.Hash }

func newRowHash() *rowHash { return &rowHash{sha256.New()} }

func (r *rowHash) begin() { r.h.Write([]byte{'R'}) }

func (r *rowHash) add(c column, v any) {
	var buf [9]byte
	writeInt := func(tag byte, x int64) {
		buf[0] = tag
		binary.BigEndian.PutUint64(buf[1:], uint64(x))
		r.h.Write(buf[:])
	}
	writeBytes := func(tag byte, b []byte) {
		writeInt(tag, int64(len(b)))
		r.h.Write(b)
	}
	switch x := v.(type) {
	case nil:
		r.h.Write([]byte{'N'})
	case int64:
		writeInt('I', x)
	case bool:
		b := int64(0)
		if x {
			b = 1
		}
		writeInt('I', b)
	case time.Time:
		writeInt('I', x.UnixMilli())
	case string:
		writeBytes('S', []byte(x))
	case []byte:
		if c.kind == kText {
			writeBytes('S', x)
		} else {
			writeBytes('B', x)
		}
	default:
		writeBytes('?', []byte(fmt.Sprint(x)))
	}
}

func (r *rowHash) sum() string { return hex.EncodeToString(r.h.Sum(nil)) }
