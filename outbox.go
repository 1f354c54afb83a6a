package ticketd

import (
	"encoding/json"
	"slices"
	"time"
)

// OutboxKind is what an outgoing mail is; each kind is also the name of the
// template that writes it.
type OutboxKind string

// Outgoing mail kinds.
const (
	KindAck             OutboxKind = "ack"
	KindAgentNew        OutboxKind = "agent_new"
	KindAgentReply      OutboxKind = "agent_reply"
	KindAgentReopened   OutboxKind = "agent_reopened"
	KindAgentUnverified OutboxKind = "agent_unverified"
	KindAgentOutsider   OutboxKind = "agent_outsider"
	KindRelay           OutboxKind = "relay"
	KindReminder        OutboxKind = "reminder"
	KindClosed          OutboxKind = "closed"
	KindSolvedThanks    OutboxKind = "solved_thanks"
	KindCommandError    OutboxKind = "command_error"
	KindNote            OutboxKind = "note"
	KindAssigned        OutboxKind = "assigned"
	KindDeliveryFailed  OutboxKind = "delivery_failed"
	// KindAdminIMAP is a mail to [server] admins about an [[imap]]
	// account: failing for a while, or working again. It belongs to no
	// ticket.
	KindAdminIMAP OutboxKind = "admin_imap"
	// KindAdminOAuth is a mail to [server] admins: a provider refused an
	// account's OAuth2 refresh token, and someone must sign in again.
	KindAdminOAuth OutboxKind = "admin_oauth"
	// KindDigest lists the tickets waiting for an agent (the daily digest,
	// and the answer to #lista); it is about no one ticket.
	KindDigest OutboxKind = "digest"
	// KindAgentHelp tells an agent who wrote to the support address itself
	// how to open a ticket for a customer; it is about no ticket.
	KindAgentHelp OutboxKind = "agent_help"
	// KindColleague tells an agent who was told of a ticket that a
	// colleague took or answered it (Params.Reason "took" or "answered").
	KindColleague OutboxKind = "colleague"
)

// ToCustomer tells whether a kind of mail goes to a customer; the others go
// to agents.
func (k OutboxKind) ToCustomer() bool {
	switch k {
	case KindAck, KindRelay, KindReminder, KindClosed, KindSolvedThanks:
		return true
	}
	return false
}

// OutboxState is where an outgoing mail stands.
type OutboxState string

// Outbox states.
const (
	OutQueued OutboxState = "queued"
	OutSent   OutboxState = "sent"
	OutFailed OutboxState = "failed"
)

// Outgoing is one outbox row: what to send. The mail itself is composed by
// the outbox worker, off the path of the 250.
type Outgoing struct {
	ID         int64
	Ticket     int64
	Kind       OutboxKind
	Rcpt       string
	MessageRef int64  // the message it carries, if any
	MessageID  string // the Message-ID the mail will have (without <>)
	Params     Params // kind-specific, stored as JSON
	State      OutboxState
	CreatedAt  time.Time
	NextAt     time.Time
	Attempts   int
	LastError  string
	SentAt     time.Time
}

// NewOutgoing is the one constructor of outbox rows: a mail of kind about
// ticket to rcpt, due at once. msgID is the Message-ID it will carry.
func NewOutgoing(ticket int64, kind OutboxKind, rcpt string, msgRef int64, msgID string, p Params, now time.Time) *Outgoing {
	return &Outgoing{
		Ticket:     ticket,
		Kind:       kind,
		Rcpt:       rcpt,
		MessageRef: msgRef,
		MessageID:  msgID,
		Params:     p,
		State:      OutQueued,
		CreatedAt:  now,
		NextAt:     now,
	}
}

// Params is what an outbox row needs beyond its columns, decided when the
// row is written so that every retry composes the same mail.
type Params struct {
	Lang       string   `json:"lang,omitempty"`
	InReplyTo  string   `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`
	Cc         []string `json:"cc,omitempty"`
	// Command errors and other notices.
	BadLine string `json:"bad_line,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Actor is the agent (or "system") whose action the mail reports.
	Actor string `json:"actor,omitempty"`
	// Recipient of a mail that failed, for delivery_failed notices.
	Recipient string `json:"recipient,omitempty"`
	// CloseAt is when a pending ticket will close (reminders), RFC 3339.
	CloseAt string `json:"close_at,omitempty"`
	// Tickets a digest lists, in order, and the mailbox it comes from.
	Tickets []int64 `json:"tickets,omitempty"`
	Mailbox string  `json:"mailbox,omitempty"`
	// IMAP is what an admin alert (KindAdminIMAP) is about.
	IMAP *IMAPAlert `json:"imap,omitempty"`
	// OAuth is what a KindAdminOAuth alert is about.
	OAuth *OAuthAlert `json:"oauth,omitempty"`
}

// OAuthAlert is an account whose refresh token the provider refused.
type OAuthAlert struct {
	Account string `json:"account"`
	Key     string `json:"key"`    // the config entry: "imap[0]", "outbound"
	Reason  string `json:"reason"` // what the provider said
	Todo    string `json:"todo"`   // what to do: the login command, the file
	Waiting string `json:"waiting,omitempty"`
}

// IMAPAlert is an [[imap]] account that failed for a while, or works again.
type IMAPAlert struct {
	Account   string    `json:"account"` // username@host:port
	Folder    string    `json:"folder"`
	Mailbox   string    `json:"mailbox"`   // the [[mailboxes]] entry it feeds
	Recovered bool      `json:"recovered"` // false: failing
	Since     time.Time `json:"since"`     // last successful read (failing) or when it failed (recovered)
	Error     string    `json:"error,omitempty"`
}

// Encode returns p as the JSON stored in the outbox row.
func (p Params) Encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// DecodeParams reads an outbox row's params.
func DecodeParams(s string) (Params, error) {
	var p Params
	if s == "" {
		return p, nil
	}
	err := json.Unmarshal([]byte(s), &p)
	return p, err
}

// Thread is what an outgoing mail needs to be a reply in a ticket's
// conversation: the customer's first mail (the root) and latest one.
type Thread struct {
	Root, Last string
}

// Reply returns the params of a mail answering inReplyTo (the latest
// customer mail when empty), with References naming the root, the latest
// mail and the one answered, each once.
func (th Thread) Reply(inReplyTo string) Params {
	if inReplyTo == "" {
		inReplyTo = th.Last
	}
	p := Params{InReplyTo: inReplyTo}
	for _, id := range []string{th.Root, th.Last, inReplyTo} {
		if id != "" && !slices.Contains(p.References, id) {
			p.References = append(p.References, id)
		}
	}
	return p
}
