package ticketd

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("store: not found")

// ErrBusy reports that the database stayed locked (by another process)
// longer than the busy timeout; the caller should answer "try again later".
var ErrBusy = errors.New("store: database is locked")

// Store keeps tickets. Every engine (store/sqlite, and any other) passes
// the contract suite in store/storetest.
type Store interface {
	// Update runs fn inside a write transaction and returns after the
	// commit made its work durable (or after it failed: then nothing of fn
	// was kept). fn must do only database work; it may be retried with
	// other callers' work in the same transaction.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// IndexSearch brings the search index up to date with every message
	// stored so far, and returns how many it added.
	IndexSearch(ctx context.Context) (int, error)
	Close() error
}

// Shared is kept by engines that several processes share (PostgreSQL),
// where what a single process keeps beside its database (the reply-address
// key in data_dir) and what it does alone (a scheduler pass) must be
// shared or taken in turns through the database.
type Shared interface {
	// ReplyKey returns the key that signs reply addresses, storing fresh
	// as that key when the database has none yet: every process gets the
	// key of the first.
	ReplyKey(ctx context.Context, fresh []byte) ([]byte, error)
	// Exclusive runs fn while no other process on the database runs fn
	// under the same name, waiting for its turn until ctx ends.
	Exclusive(ctx context.Context, name string, fn func(context.Context) error) error
	// ReplyKeys returns the key that signs reply addresses (nil when the
	// database has none yet) and the keys it replaced, newest first.
	ReplyKeys(ctx context.Context) (current []byte, retired []RetiredKey, err error)
	// RotateReplyKey makes fresh the key that signs reply addresses,
	// keeping the one it replaces (if any; hadKey) as retired at now.
	RotateReplyKey(ctx context.Context, fresh []byte, now time.Time) (hadKey bool, err error)
}

// RetiredKey is a reply-address key replaced by a rotation: it keeps
// verifying the addresses it signed for [server] old_keys_valid_for after
// RetiredAt.
type RetiredKey struct {
	Key       []byte
	RetiredAt time.Time
}

// Tx is one caller's view of a transaction. Methods that write fail in a
// read-only one.
type Tx interface {
	TicketTx
	MessageTx
	EventTx
	OutboxTx
	SchedulerTx
	SearchTx
	IMAPTx
	AdminTx
}

// TicketTx reads and writes tickets and their tags.
type TicketTx interface {
	TicketByToken(token string) (*Ticket, error)
	TicketByNumber(n int64) (*Ticket, error)
	// CreateTicket inserts tk and sets its Number.
	CreateTicket(tk *Ticket) error
	// SaveTicket writes a ticket's mutable fields back (not its tags).
	SaveTicket(tk *Ticket) error
	// ListTickets returns tickets, newest first.
	ListTickets(f TicketFilter) ([]*Ticket, error)
	Tags(ticket int64) ([]string, error)
	// AddTag and RemoveTag report whether they changed anything.
	AddTag(ticket int64, tag string) (bool, error)
	RemoveTag(ticket int64, tag string) (bool, error)
}

// MessageTx reads and writes raw mails, messages and attachments.
type MessageTx interface {
	// InsertRaw stores a mail's bytes exactly as received and sets its ID.
	InsertRaw(r *Raw) error
	Raw(id int64) (*Raw, error)
	// InsertMessage stores m with its HTML and its attachments (metadata
	// and decoded bytes) and sets their IDs.
	InsertMessage(m *Message) error
	Message(id int64) (*Message, error)
	// Messages returns a ticket's messages, oldest first, with attachments.
	Messages(ticket int64) ([]*Message, error)
	Attachment(id int64) (*Attachment, error)
	// MessageHTML returns the HTML body stored with a message ("" when its
	// mail had none). kept is false for a message stored before bodies
	// were kept (its raw mail is then the only source).
	MessageHTML(id int64) (html string, kept bool, err error)
	// AttachmentContent returns an attachment's decoded bytes. kept is
	// false for one stored before they were kept.
	AttachmentContent(id int64) (data []byte, kept bool, err error)
	// MessagesByMessageID finds the stored messages carrying a Message-ID
	// (a bounded number of them).
	MessagesByMessageID(id string) ([]MessageRef, error)
	// ThreadIDs returns the Message-IDs a reply on this ticket refers to.
	ThreadIDs(ticket int64) (Thread, error)
	// RootParticipants returns the To/Cc addresses of the ticket's first message.
	RootParticipants(ticket int64) ([]string, error)
	// LastCustomerMessage returns the id of the customer's latest public
	// message on a ticket (0 if none).
	LastCustomerMessage(ticket int64) (int64, error)
	// TicketAddresses returns who took part in a ticket, and who wrote to it
	// from outside.
	TicketAddresses(ticket int64) (Addresses, error)
	// AcceptOutsider makes the mails from addr on a ticket part of its
	// public conversation and reports how many there were.
	AcceptOutsider(ticket int64, addr string) (int, error)
	// RecentAutomatic counts a ticket's automatic mails stored since a moment.
	RecentAutomatic(ticket int64, since time.Time) (int, error)
}

// EventTx reads and writes tickets' histories.
type EventTx interface {
	// AddEvents appends entries, in order, and sets their IDs.
	AddEvents(es []*Event) error
	// Events returns a ticket's history, oldest first.
	Events(ticket int64) ([]Event, error)
}

// OutboxTx reads and writes outgoing mail.
type OutboxTx interface {
	// Enqueue adds outbox rows and sets their IDs.
	Enqueue(os ...*Outgoing) error
	// CountAcks counts the acknowledgements queued for addr since a moment.
	CountAcks(addr string, since time.Time) (int, error)
	// NotificationCounts counts, per recipient, the mails to agents queued
	// about a ticket since a moment.
	NotificationCounts(ticket int64, since time.Time) (map[string]int, error)
	// DueOutgoing lists queued rows due at or before now, oldest first.
	DueOutgoing(now time.Time, limit int) ([]*Outgoing, error)
	// NextOutgoingAt returns when the earliest queued row is due (zero if none).
	NextOutgoingAt() (time.Time, error)
	// ClaimDue claims, for owner until a lease runs out, up to limit rows
	// due at or before now that no one holds, in one statement, and
	// returns them by id. On a database several processes share, rows
	// another transaction is claiming are skipped, not waited for. The
	// holder renews the lease while it works (RenewClaim); a holder that
	// died is replaced when the lease ends, or at once when it starts
	// again (TakeBackClaims).
	ClaimDue(owner string, now, until time.Time, limit int) ([]*Outgoing, error)
	// RenewClaim extends owner's lease on a row it still holds; false when
	// the row is no longer queued or no longer its own.
	RenewClaim(id int64, owner string, until time.Time) (bool, error)
	// TakeBackClaims makes every queued row that owner claimed in a
	// previous life due now, and returns how many there were.
	TakeBackClaims(owner string, now time.Time) (int, error)
	// ReleaseClaim forgets who held a row.
	ReleaseClaim(id int64) error
	// MarkSent, MarkRetry and MarkFailed move a row that is still queued.
	MarkSent(id int64, at time.Time) error
	MarkRetry(id int64, next time.Time, errText string) error
	MarkFailed(id int64, errText string) error
}

// SchedulerTx finds the tickets the scheduler owes something.
type SchedulerTx interface {
	// DueReminders returns the pending tickets of a mailbox that turned
	// pending at or before pendingBefore and were not reminded since.
	DueReminders(mailbox string, pendingBefore time.Time) ([]int64, error)
	// DueCloses returns the pending tickets of a mailbox reminded at or
	// before remindedBefore that turned pending at or before pendingBefore.
	DueCloses(mailbox string, remindedBefore, pendingBefore time.Time) ([]int64, error)
}

// SearchTx finds tickets.
type SearchTx interface {
	Search(q SearchQuery) ([]SearchHit, error)
}

// IMAPTx keeps the IMAP gateway's progress per fetched folder.
type IMAPTx interface {
	// IMAPState returns the state of src, or ErrNotFound before its first connection.
	IMAPState(src IMAPSource) (*IMAPState, error)
	SaveIMAPState(src IMAPSource, s *IMAPState) error
}

// AdminTx reads what an admin's tasks need: metrics and GDPR requests.
type AdminTx interface {
	// CountTickets returns how many tickets the store holds.
	CountTickets() (int, error)
	// MetricsCounts counts queued outgoing mail, tickets per status, and
	// the mails stored after raw mail afterRawID, by source.
	MetricsCounts(afterRawID int64) (MetricsCounts, error)
	// CustomerData collects everything stored about an address.
	CustomerData(addr string) (*CustomerData, error)
}

// Backuper is a store that can write a consistent copy of itself while
// it keeps taking mail.
type Backuper interface {
	BackupTo(ctx context.Context, path string) error
}

// Forgetter is a store that can erase an address (a GDPR erasure request)
// so that no byte of it stays in its files.
type Forgetter interface {
	Forget(ctx context.Context, addr string) (ForgetReport, error)
}

// SearchQuery selects tickets for Search.
type SearchQuery struct {
	Text   string // words, a requester address, or a ticket number ("12", "#12")
	Status Status // "" for all
	Limit  int    // 0 for 50
}

// SearchHit is one ticket found, best first.
type SearchHit struct {
	Ticket  *Ticket
	Match   string  // number, requester, text
	Snippet string  // the matching words in context, marked with [ ]
	Rank    float64 // BM25 of the best matching message, negated: lower is better
}

// IMAPSource names one fetched folder: server address, account and folder.
type IMAPSource struct {
	Addr     string
	Username string
	Folder   string
}

// IMAPState is how far the IMAP gateway got in one source folder.
type IMAPState struct {
	UIDValidity uint32
	LastUID     uint32 // every UID up to this one is handled
	BacklogTop  uint32 // UIDs up to this one follow the first-connection backlog rule
	UpdatedAt   time.Time
}

// Number is the ticket number the query names ("12", "#12"), if it names one.
func (q SearchQuery) Number() (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(q.Text), "#"), 10, 64)
	return n, err == nil && n > 0
}

// Address is the requester address the query is, if it is one.
func (q SearchQuery) Address() (string, bool) {
	text := strings.TrimSpace(q.Text)
	return text, strings.Contains(text, "@") && !strings.ContainsAny(text, " \t")
}

// HitList gathers a search's hits in the order an engine finds them
// (number, then requester, then text): one per ticket, within the query's
// status and limit (50 when unset). Every engine's Search uses it, so they
// agree on what a hit list is.
type HitList struct {
	q    SearchQuery
	hits []SearchHit
	seen map[int64]bool
}

// NewHitList starts the hits of q.
func NewHitList(q SearchQuery) *HitList {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	return &HitList{q: q, seen: map[int64]bool{}}
}

// Limit is how many hits the list takes.
func (h *HitList) Limit() int { return h.q.Limit }

// Has tells whether ticket n is in the list already.
func (h *HitList) Has(n int64) bool { return h.seen[n] }

// Add appends a hit unless its ticket is in already, the list is full, or
// the ticket's status is not the one asked for.
func (h *HitList) Add(tk *Ticket, match, snippet string, rank float64) {
	if h.seen[tk.Number] || len(h.hits) >= h.q.Limit || (h.q.Status != "" && tk.Status != h.q.Status) {
		return
	}
	h.seen[tk.Number] = true
	h.hits = append(h.hits, SearchHit{Ticket: tk, Match: match, Snippet: snippet, Rank: rank})
}

// Hits returns the hits, best first.
func (h *HitList) Hits() []SearchHit { return h.hits }
