package ticketd

import "time"

// What an admin's tasks read from the store: metrics, and GDPR requests.

// CustomerData is everything stored about one address (a GDPR access
// request): the tickets it opened with their histories, every message it
// wrote (on any ticket), the raw mails behind them, and the mails sent to it.
type CustomerData struct {
	Address  string
	Names    []string // display names it used
	Tickets  []*Ticket
	Events   map[int64][]Event // by ticket, for Tickets
	Messages []*Message        // written by the address, oldest first
	RawMails []RawInfo
	Sent     []*Outgoing // mails to the address
}

// RawInfo describes a stored raw mail without its bytes.
type RawInfo struct {
	ID         int64
	ReceivedAt time.Time
	Source     string
	Size       int64
	SHA256     string
}

// ForgetReport says what Forget erased.
type ForgetReport struct {
	Tickets, Messages, RawMails, Attachments, Outgoing int
	// OtherMentions counts raw mails of other people's tickets that still
	// name the address (kept: they are someone else's mail).
	OtherMentions int
	// Tokens are the replaced tokens of the forgotten tickets, to find
	// copies of their mail outside the database (outbound .eml files).
	Tokens []string
}

// MetricsCounts are the numbers ticketd's metrics read from the database.
type MetricsCounts struct {
	OutboxQueued int
	Tickets      map[string]int // by status
	Received     map[string]int // stored mails after the given raw id, by source
	LastRawID    int64
}
