package ticketd

import (
	"slices"
	"strings"
	"time"
)

// Author says who wrote a message.
type Author string

// Authors of a message.
const (
	AuthorCustomer Author = "customer"
	AuthorAgent    Author = "agent"
	AuthorSystem   Author = "system"
)

// Raw is a mail as received, byte for byte.
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
	Author       Author
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
	Outsider     bool // came through the ticket's token from someone outside it
	Participants []string
	ParseError   string
	CreatedAt    time.Time
	Attachments  []Attachment
	// HTML is the HTML body intake decoded ("" when the mail had none).
	// InsertMessage stores it; Message and Messages leave it empty (read
	// it with MessageHTML).
	HTML string
}

// Attachment is one attachment (or inline image) of a message. The raw
// mail keeps it as received; the store keeps its decoded bytes beside it,
// so that nothing has to parse the raw mail again.
type Attachment struct {
	ID          int64
	Message     int64
	PartIndex   int
	Filename    string
	ContentType string
	Size        int64
	ContentID   string // without <>: what the HTML's "cid:" URLs name
	Inline      bool   // shown inside the body (a pasted image), not attached
	// Content is the decoded bytes. InsertMessage stores them; Message and
	// Messages leave it nil (read it with AttachmentContent).
	Content []byte
}

// MessageRef is where a stored Message-ID lives: what threading and
// duplicate checks need to know of an earlier mail.
type MessageRef struct {
	Ticket       int64
	Message      int64
	FromAddr     string
	Participants []string
	SHA256       string
}

// Addresses is who took part in a ticket: the requester and everyone its
// conversation came from or went to; and, apart, those who wrote through
// its token from outside it and were not accepted by an agent yet.
type Addresses struct {
	Participants []string
	Outsiders    []string // the latest last
}

// Takes tells whether addr took part in the ticket.
func (a Addresses) Takes(addr string) bool {
	for _, p := range a.Participants {
		if strings.EqualFold(p, addr) {
			return true
		}
	}
	return false
}

// AddressRow is what one message of a ticket says about who took part:
// its author, the To/Cc addresses it went to, and whether it came from
// outside the ticket.
type AddressRow struct {
	From         string
	Participants []string
	Outsider     bool
}

// CollectAddresses is the rule behind Tx.TicketAddresses, the same for
// every engine: the requester and everyone the ticket's messages (oldest
// first) came from or went to take part; the authors of mails from outside
// that are not participants by now are the outsiders, the latest last.
// Addresses are in lower case.
func CollectAddresses(requester string, rows []AddressRow) Addresses {
	var a Addresses
	seen := map[string]bool{}
	add := func(addr string) {
		addr = strings.ToLower(strings.TrimSpace(addr))
		if addr != "" && !seen[addr] {
			seen[addr] = true
			a.Participants = append(a.Participants, addr)
		}
	}
	add(requester)
	var outsiders []string
	for _, r := range rows {
		if r.Outsider {
			outsiders = append(outsiders, strings.ToLower(r.From))
			continue
		}
		add(r.From)
		for _, p := range r.Participants {
			add(p)
		}
	}
	// An outsider who is a participant by now (accepted, or written to
	// since) is no longer one.
	for _, o := range outsiders {
		if o != "" && !seen[o] {
			a.Outsiders = append(slices.DeleteFunc(a.Outsiders, func(x string) bool { return x == o }), o)
		}
	}
	return a
}
