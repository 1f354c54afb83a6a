// Package alerts tells [server] admins about trouble only an admin can
// fix. Today that is an [[imap]] account that has not been read for half
// an hour: one mail per incident when it starts, one when it ends, as
// FreeScout's fetch monitor does. Every alert is also logged, admins or not.
package alerts

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/threading"
)

// DefaultAfter is how long an account may go unread before admins hear.
const DefaultAfter = 30 * time.Minute

// IMAPWatch follows the [[imap]] gateways through their hooks.
type IMAPWatch struct {
	Store  ticketd.Store
	Config func() *config.Config
	Now    func() time.Time
	Wake   func() // the outbox worker's, so alerts leave at once
	Log    *slog.Logger
	After  time.Duration // default DefaultAfter

	mu       sync.Mutex
	accounts map[string]*account
}

type account struct {
	name, folder, mailbox string
	poll                  time.Duration // a healthy account passes at least this often
	lastOK                time.Time     // last full pass, or when watching began
	lastErr               string
	failingSince          time.Time // set while an incident is open
}

// Watch starts following one gateway, which passes over its folder at
// least every poll (its poll_interval, also with IDLE); it counts as read
// now. An incident opens when After has gone by since a pass was due. It
// returns the hooks to give the gateway (imapgw.Options.OnPass and OnFailure).
func (w *IMAPWatch) Watch(name, folder, mailbox string, poll time.Duration) (onPass func(time.Time), onFailure func(error)) {
	w.mu.Lock()
	if w.accounts == nil {
		w.accounts = map[string]*account{}
	}
	a := &account{name: name, folder: folder, mailbox: mailbox, poll: poll, lastOK: w.Now()}
	w.accounts[name+" "+folder] = a
	w.mu.Unlock()
	return func(at time.Time) { w.passed(a, at) }, func(err error) { w.failed(a, err) }
}

func (w *IMAPWatch) passed(a *account, at time.Time) {
	w.mu.Lock()
	a.lastOK, a.lastErr = at, ""
	since := a.failingSince
	a.failingSince = time.Time{}
	w.mu.Unlock()
	if since.IsZero() {
		return
	}
	w.Log.Info("imap account works again", "imap", a.name, "folder", a.folder, "failing_since", since.Format(time.RFC3339))
	w.mail(context.Background(), ticketd.IMAPAlert{Account: a.name, Folder: a.folder, Mailbox: a.mailbox, Recovered: true, Since: since})
}

func (w *IMAPWatch) failed(a *account, err error) {
	w.mu.Lock()
	a.lastErr = threading.Redact(err.Error())
	w.mu.Unlock()
}

// Check opens an incident, once, for each account that missed its passes
// for After.
func (w *IMAPWatch) Check(ctx context.Context) {
	after := w.After
	if after <= 0 {
		after = DefaultAfter
	}
	now := w.Now()
	var due []ticketd.IMAPAlert
	w.mu.Lock()
	for _, a := range w.accounts {
		if a.failingSince.IsZero() && now.Sub(a.lastOK) >= a.poll+after {
			a.failingSince = now
			due = append(due, ticketd.IMAPAlert{Account: a.name, Folder: a.folder, Mailbox: a.mailbox, Since: a.lastOK, Error: a.lastErr})
		}
	}
	w.mu.Unlock()
	for _, alert := range due {
		w.Log.Error("imap account not read for a while; mailing the admins", "imap", alert.Account, "folder", alert.Folder,
			"since", alert.Since.Format(time.RFC3339), "err", alert.Error, "admins", len(w.Config().Server.Admins))
		w.mail(ctx, alert)
	}
}

// Run checks every minute until ctx ends.
func (w *IMAPWatch) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Check(ctx)
		}
	}
}

// mail queues one alert per admin; a failure is logged (the outbox is the
// only way out, and the incident is in the log either way).
func (w *IMAPWatch) mail(ctx context.Context, a ticketd.IMAPAlert) {
	cfg := w.Config()
	if len(cfg.Server.Admins) == 0 {
		return
	}
	now := w.Now()
	rows := make([]*ticketd.Outgoing, 0, len(cfg.Server.Admins))
	for _, admin := range cfg.Server.Admins {
		rows = append(rows, ticketd.NewOutgoing(0, ticketd.KindAdminIMAP, admin, 0, threading.NewMessageID("admin", cfg.Server.Hostname),
			ticketd.Params{IMAP: &a}, now))
	}
	if err := w.Store.Update(ctx, func(tx ticketd.Tx) error { return tx.Enqueue(rows...) }); err != nil {
		w.Log.Error("could not queue the admins' alert", "imap", a.Account, "err", err)
		return
	}
	if w.Wake != nil {
		w.Wake()
	}
}
