package ticketd

import "time"

// DeskTx is what the agents' desk (the IMAP view of the queues) needs of a
// transaction, beyond Tx. An engine that offers it returns a Tx that also
// implements DeskTx; the desk refuses to start on one that does not.
//
// Every ticket has one desk UID, issued again (higher than any before)
// whenever something the desk shows of it changes: its status, assignee,
// priority, subject, tags, last activity, or a new message. A folder is
// the set of tickets that match a DeskFilter, each under its desk UID.
type DeskTx interface {
	// DeskFolder returns the tickets matching f with their desk UIDs,
	// lowest UID first.
	DeskFolder(f DeskFilter) ([]DeskEntry, error)
	// DeskEntry returns one ticket's current desk UID.
	DeskEntry(ticket int64) (DeskEntry, error)
	// DeskLastUID is the highest desk UID issued so far (0 before any).
	DeskLastUID() (uint32, error)
	// DeskSeen returns which of uids agent has seen.
	DeskSeen(agent string, uids []uint32) (map[uint32]bool, error)
	// SetDeskSeen marks uids seen (or unseen) for agent, and forgets the
	// agent's marks on UIDs that no longer exist.
	SetDeskSeen(agent string, uids []uint32, seen bool) error
	// DeskAgent returns an agent's desk account, or ErrNotFound.
	DeskAgent(email string) (*DeskAgent, error)
	// SaveDeskAgent creates or replaces an agent's desk account.
	SaveDeskAgent(a *DeskAgent) error
	// DigestSent tells whether agent's digest of day ("2026-11-02") was
	// done; ClaimDigest records it, and reports false when it was already.
	DigestSent(agent, day string) (bool, error)
	ClaimDigest(agent, day string, at time.Time) (bool, error)
	// CountOutgoing counts the mails of a kind queued for rcpt since a
	// moment (the answers to agents' mails to the support address are
	// limited per hour, like acknowledgements).
	CountOutgoing(kind OutboxKind, rcpt string, since time.Time) (int, error)
}

// WaitingFor selects the tickets waiting for an agent: new or open, and
// hers or nobody's, in the mailboxes she serves. It is her desk's INBOX and
// what her daily digest lists.
func WaitingFor(agent string, mailboxes []string) DeskFilter {
	return DeskFilter{Mailboxes: mailboxes, Statuses: []Status{StatusNuevo, StatusAbierto}, Assignee: DeskMineOrNobody, Agent: agent}
}

// DeskFilter selects the tickets of one desk folder.
type DeskFilter struct {
	Mailboxes []string // the mailboxes the agent serves; none selects nothing
	Statuses  []Status // empty: every status
	// Assignee: DeskAnyone, DeskMine (Agent), DeskNobody, or DeskMineOrNobody.
	Assignee DeskAssignee
	Agent    string
	// ClosedSince, when set, keeps closed tickets only when they closed at
	// or after it.
	ClosedSince time.Time
}

// DeskAssignee says whose tickets a desk folder holds.
type DeskAssignee int

// Whose tickets a folder holds.
const (
	DeskAnyone DeskAssignee = iota
	DeskMine
	DeskNobody
	DeskMineOrNobody
)

// DeskEntry is one ticket in a desk folder.
type DeskEntry struct {
	UID    uint32
	Ticket int64
}

// DeskAgent is an agent's desk account.
type DeskAgent struct {
	Email        string // lower case
	PasswordHash string // bcrypt
	PasswordAt   time.Time
	// UIDValidity of every folder of this agent; it changes when Scope
	// (the mailboxes the agent serves) changes, since tickets may then
	// appear under UIDs the client has already passed.
	UIDValidity uint32
	Scope       string
}
