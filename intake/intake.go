// Package intake is the one entry point for mail: parse, thread, decide,
// and persist everything a mail causes in one transaction. SMTP, LMTP, the
// IMAP gateway and `ticketd inject` all call Deliver.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/store"
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
	Store *store.Store
	Now   func() time.Time
	Key   []byte // HMAC key for agent-scoped addresses
	Log   *slog.Logger
	// Wake, when set, is called after a commit that queued outgoing mail.
	Wake func()

	cfg atomic.Pointer[config.Config]
}

// New returns a Desk for cfg.
func New(st *store.Store, cfg *config.Config, key []byte, now func() time.Time, log *slog.Logger) *Desk {
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
	sum := sha256.Sum256(raw)
	in := &incoming{
		env:    env,
		raw:    raw,
		sha:    hex.EncodeToString(sum[:]),
		p:      p,
		cut:    threading.CutQuoteSubject(p.Text, p.Subject),
		now:    d.Now().UTC(),
		cfg:    cfg,
		refIDs: threading.ReferencedIDs(p.InReplyTo, p.References),
	}
	in.auto, in.autoReason = threading.IsAutomatic(env.From, p.Header, cfg.MailboxAddresses())
	var res Result
	queued := false
	err = d.Store.Update(ctx, func(tx *store.Tx) error {
		res = Result{}
		queued = false
		r := &store.Raw{ReceivedAt: in.now, Source: env.Source, EnvelopeFrom: env.From, Recipients: env.Rcpts, SHA256: in.sha, Data: raw}
		dup := true
		for _, tg := range targets {
			out, err := d.decide(tx, in, tg, r)
			if err != nil {
				return err
			}
			if out.ticket != 0 {
				res.Tickets = append(res.Tickets, out.ticket)
			}
			dup = dup && out.duplicate
			queued = queued || out.queued
		}
		res.RawID = r.ID
		res.Duplicate = dup
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("intake: %w", err)
	}
	if queued && d.Wake != nil {
		d.Wake()
	}
	d.Log.Info("mail delivered", "source", env.Source, "from", threading.Redact(p.From.Addr), "msgid", threading.Redact(p.MessageID),
		"ticket", res.Tickets, "duplicate", res.Duplicate, "automatic", in.auto, "bytes", len(raw))
	return res, nil
}

// target is one mailbox a mail was sent to, with the most specific address form seen.
type target struct {
	mailbox *config.Mailbox
	addr    threading.Addr
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
