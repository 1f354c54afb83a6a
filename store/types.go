package store

import "time"

// Statuses, with the Spanish keys the design fixes.
const (
	StatusNuevo     = "nuevo"
	StatusPendiente = "pendiente"
	StatusAbierto   = "abierto"
	StatusCerrado   = "cerrado"
)

// Authors of a message.
const (
	AuthorCustomer = "customer"
	AuthorAgent    = "agent"
	AuthorSystem   = "system"
)

// Ticket is one request and its state.
type Ticket struct {
	Number         int64
	Token          string
	Mailbox        string
	RequesterAddr  string
	RequesterName  string
	Subject        string
	Status         string
	Assignee       string
	Priority       string
	Tags           []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PendingSince   time.Time // zero unless pending
	ReminderSentAt time.Time // zero unless reminded in this pending period
	ClosedAt       time.Time
}

// Raw is a message as received, byte for byte.
type Raw struct {
	ID           int64
	ReceivedAt   time.Time
	Source       string // smtp, lmtp, inject, imap
	EnvelopeFrom string
	Recipients   []string
	SHA256       string
	Data         []byte
}

// Message is one mail (or note) on a ticket.
type Message struct {
	ID           int64
	Ticket       int64
	RawID        int64
	Author       string // customer | agent | system
	FromAddr     string
	FromName     string
	MessageID    string
	Subject      string
	Text         string // the whole text
	NewText      string // the text with quotes and signature cut
	CutFlagged   bool   // the cut was unsure; show Text
	Internal     bool
	Automatic    bool
	Unverified   bool // came through an agent path without proof
	Participants []string
	ParseError   string
	CreatedAt    time.Time
	Attachments  []Attachment
}

// Attachment is the metadata of one attachment; bytes live in the raw message.
type Attachment struct {
	ID          int64
	Message     int64
	PartIndex   int
	Filename    string
	ContentType string
	Size        int64
}

// Event is one entry of a ticket's history.
type Event struct {
	ID     int64
	Ticket int64
	Type   string
	Actor  string
	At     time.Time
	Detail string
}

// Outbox states.
const (
	OutQueued = "queued"
	OutSent   = "sent"
	OutFailed = "failed"
)

// Outgoing is one outbox row: what to send; the mail itself is composed by
// the outbox worker, off the path of the 250.
type Outgoing struct {
	ID         int64
	Ticket     int64
	Kind       string
	Rcpt       string
	MessageRef int64  // the message it carries, if any
	MessageID  string // the Message-ID the mail will have (without <>)
	Params     string // JSON, kind-specific
	State      string
	CreatedAt  time.Time
	NextAt     time.Time
	Attempts   int
	LastError  string
	SentAt     time.Time
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
