// Package intake is the one entry point for mail: parse, thread, decide,
// and persist everything a mail causes in one transaction. SMTP, LMTP, the
// IMAP gateway and `ticketd inject` all call Deliver.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Errors a caller maps to its protocol (SMTP code, exit status).
var (
	// ErrUnknownRecipient: no configured mailbox or token form (550 5.1.1, exit 67).
	ErrUnknownRecipient = errors.New("unknown recipient")
	// ErrNotMail: the input has no header section at all (554, exit 65).
	ErrNotMail = message.ErrNotMail
)

// Envelope is what the transport knew about a mail.
type Envelope struct {
	Source string   // smtp, lmtp, inject, imap
	From   string   // envelope sender; "" for the null sender
	Rcpts  []string // envelope recipients
	// NoAutoReply suppresses acknowledgements (the IMAP gateway uses it
	// for old backlog mail).
	NoAutoReply bool
}

// Result tells a caller what became of a delivered mail.
type Result struct {
	RawID     int64
	Tickets   []int64 // the tickets it landed on, one per mailbox
	Duplicate bool    // already stored before; nothing new was done
}

// Desk delivers mail. It is safe for concurrent use.
type Desk struct {
	Store ticketd.Store
	Now   func() time.Time
	Key   []byte // HMAC key for agent-scoped addresses
	// VerifyKeys, when set, returns every key an agent address may be
	// signed with (after a key rotation); nil means Key alone.
	VerifyKeys func() [][]byte
	// ReloadKeys, when set, reads the keys again and reports whether they
	// changed. It is called when an agent's reply address verifies under
	// none of them: another process may have rotated the key since.
	ReloadKeys func() bool
	Log        *slog.Logger
	// Wake, when set, is called after a commit that queued outgoing mail.
	Wake func()

	cfg atomic.Pointer[config.Config]
}

// New returns a Desk for cfg.
func New(st ticketd.Store, cfg *config.Config, key []byte, now func() time.Time, log *slog.Logger) *Desk {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	d := &Desk{Store: st, Now: now, Key: key, Log: log}
	d.cfg.Store(cfg)
	return d
}

// SetConfig swaps the configuration (SIGHUP); deliveries in flight keep the old one.
func (d *Desk) SetConfig(cfg *config.Config) { d.cfg.Store(cfg) }

// Config returns the configuration in force.
func (d *Desk) Config() *config.Config { return d.cfg.Load() }

// CheckRecipient tells whether addr is a configured mailbox or one of its token forms.
func (d *Desk) CheckRecipient(addr string) error {
	if _, ok := threading.ParseRecipient(addr, d.Config().MailboxAddresses()); !ok {
		return ErrUnknownRecipient
	}
	return nil
}

// Deliver parses raw, threads it, and commits the raw bytes with every
// effect (ticket, message, history, outgoing mail) before returning nil.
// Any error means nothing was committed and the sender should retry,
// except ErrUnknownRecipient and ErrNotMail, which are permanent.
//
// The work is in three steps: prepare (parse, cut, tokens: no database),
// then, inside the write transaction and for each mailbox, load the facts
// (one read step), plan (pure) and apply (one write step).
func (d *Desk) Deliver(ctx context.Context, env Envelope, raw []byte) (Result, error) {
	cfg := d.Config()
	targets, err := d.targets(cfg, env.Rcpts)
	if err != nil {
		return Result{}, err
	}
	p, err := message.Parse(raw)
	if err != nil {
		return Result{}, err
	}
	m := prepare(cfg, d.keys(), env, raw, p, targets, d.Now().UTC())
	if d.ReloadKeys != nil && m.tagRefused() && d.ReloadKeys() {
		m.checkTags(d.keys())
	}
	var res Result
	var plans []*Plan
	err = d.Store.Update(ctx, func(tx ticketd.Tx) error {
		res, plans = Result{}, plans[:0]
		r := &ticketd.Raw{ReceivedAt: m.Now, Source: env.Source, EnvelopeFrom: env.From, Recipients: env.Rcpts, SHA256: m.SHA256, Data: raw}
		res.Duplicate = true
		for _, tg := range m.Targets {
			f, err := loadFacts(tx, m, tg)
			if err != nil {
				return err
			}
			pl := plan(m, tg, f)
			if err := apply(tx, pl, r); err != nil {
				return err
			}
			if pl.Ticket != nil {
				res.Tickets = append(res.Tickets, pl.Ticket.Number)
			}
			res.Duplicate = res.Duplicate && pl.Duplicate
			plans = append(plans, pl)
		}
		res.RawID = r.ID
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("intake: %w", err)
	}
	queued := false
	for _, pl := range plans {
		queued = queued || len(pl.Outgoing) > 0
		if pl.AckSuppressed {
			d.Log.Warn("acknowledgement suppressed: per-sender limit reached", "ticket", pl.Ticket.Number, "limit", cfg.Server.AutoreplyLimitPerHour)
		}
		if pl.Outsider != "" {
			d.Log.Warn("mail from outside the ticket: kept for the agents only", "ticket", pl.Ticket.Number, "from", pl.Outsider)
		}
		if pl.Quiet > 0 {
			d.Log.Warn("notifications held back by the loop limits", "ticket", pl.Ticket.Number, "held", pl.Quiet, "automatic", m.Auto)
		}
		if pl.Unverified != "" {
			d.Log.Warn("unverified agent path", "ticket", pl.Ticket.Number, "from", m.From(), "why", pl.Unverified)
		}
	}
	if queued && d.Wake != nil {
		d.Wake()
	}
	d.Log.Info("mail delivered", "source", env.Source, "from", p.From.Addr, "msgid", p.MessageID,
		"ticket", res.Tickets, "duplicate", res.Duplicate, "automatic", m.Auto, "bytes", len(raw))
	return res, nil
}

// targets resolves recipients to one target per mailbox; a token form wins
// over the plain address, so a reply-all to both lands once.
func (d *Desk) targets(cfg *config.Config, rcpts []string) ([]target, error) {
	byBox := map[string]*target{}
	var order []string
	for _, r := range rcpts {
		a, ok := threading.ParseRecipient(r, cfg.MailboxAddresses())
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownRecipient, r)
		}
		mb := cfg.Mailbox(a.Mailbox)
		if mb == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnknownRecipient, r)
		}
		key := strings.ToLower(mb.Address)
		t, seen := byBox[key]
		if !seen {
			byBox[key] = &target{mailbox: mb, addr: a}
			order = append(order, key)
			continue
		}
		if rank(a.Kind) > rank(t.addr.Kind) {
			t.addr = a
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: no recipient", ErrUnknownRecipient)
	}
	sort.Strings(order)
	out := make([]target, 0, len(order))
	for _, k := range order {
		out = append(out, *byBox[k])
	}
	return out, nil
}

// rank orders address forms by how much they prove.
func rank(kind string) int {
	switch kind {
	case "agent", "note":
		return 3
	case "customer":
		return 2
	}
	return 1
}
