package mailer

import (
	"context"
	"errors"
	"fmt"
	"github.com/ticketd/ticketd"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketd/ticketd/threading"
)

// Worker delivers due outbox rows, retrying with exponential backoff until
// a row is delivered or too old, and records each failure on the ticket.
type Worker struct {
	Store     ticketd.Store
	Composer  *Composer
	Transport Transport
	Now       func() time.Time
	Log       *slog.Logger
	// GiveUpAfter: a row older than this is failed instead of retried.
	GiveUpAfter time.Duration
	// Poll is how often to look for rows other processes queued (inject,
	// sweep); in-process producers call Wake instead.
	Poll time.Duration
	// Concurrency is how many mails are delivered at once (default 4).
	Concurrency int
	// Lease is how long a claimed row is this worker's (default 30 s), and
	// RenewEvery how often the lease is renewed while the row is being
	// sent (default 10 s). Tests shorten them.
	Lease, RenewEvery time.Duration

	wake chan struct{}
}

// A claimed row is ours for a lease before another sender may take it:
// short, so that the rows of a process that died go out within about a
// minute, and renewed while the row is being sent, so that a slow
// smarthost does not make two processes send the same mail.
const (
	defaultLease      = 30 * time.Second
	defaultRenewEvery = 10 * time.Second
)

func (w *Worker) init() {
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	if w.Poll == 0 {
		w.Poll = 2 * time.Second
	}
	if w.GiveUpAfter == 0 {
		w.GiveUpAfter = 72 * time.Hour
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 4
	}
	if w.Lease <= 0 {
		w.Lease = defaultLease
	}
	if w.RenewEvery <= 0 {
		w.RenewEvery = defaultRenewEvery
	}
}

// Wake makes Run look for due rows now. Safe to call from any goroutine.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("outbox pass failed", "err", err)
		}
		wait := w.Poll
		var next time.Time
		if err := w.Store.View(ctx, func(tx ticketd.Tx) error {
			var err error
			next, err = tx.NextOutgoingAt()
			return err
		}); err == nil && !next.IsZero() {
			if d := next.Sub(w.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce delivers every row due now and returns how many were sent.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	sent := 0
	for {
		now := w.Now()
		var due []*ticketd.Outgoing
		err := w.Store.View(ctx, func(tx ticketd.Tx) error {
			var err error
			due, err = tx.DueOutgoing(now, 64)
			return err
		})
		if err != nil {
			return sent, err
		}
		if len(due) == 0 {
			return sent, nil
		}
		// A few deliveries at once: a smarthost round trip or a file flush
		// each, and a busy desk queues several mails per incoming one.
		// Claims keep any row from going out twice.
		var (
			mu       sync.Mutex
			firstErr error
			wg       sync.WaitGroup
			slots    = make(chan struct{}, w.Concurrency)
		)
		for _, o := range due {
			if ctx.Err() != nil {
				break
			}
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				ok, err := w.deliver(ctx, o)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if ok {
					sent++
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return sent, firstErr
		}
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

// deliver claims, composes and sends one row. It returns an error only
// when the database fails; a delivery failure is recorded on the row.
func (w *Worker) deliver(ctx context.Context, o *ticketd.Outgoing) (bool, error) {
	now := w.Now()
	var claimed bool
	err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
		var err error
		claimed, err = tx.Claim(o.ID, now, now.Add(w.Lease))
		return err
	})
	if err != nil || !claimed {
		return false, err
	}
	// Hold the lease while composing and sending; if it is lost (this
	// process stalled longer than a lease and another took the row over),
	// stop sending: the other sender has it.
	held := now.Add(w.Lease)
	sendCtx, stopSend := context.WithCancel(ctx)
	var lost atomic.Bool
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(w.RenewEvery)
		defer t.Stop()
		for {
			select {
			case <-sendCtx.Done():
				return
			case <-t.C:
			}
			until := w.Now().Add(w.Lease)
			var ok bool
			err := w.Store.Update(sendCtx, func(tx ticketd.Tx) error {
				var err error
				ok, err = tx.Renew(o.ID, held, until)
				return err
			})
			switch {
			case err != nil && sendCtx.Err() == nil:
				w.Log.Warn("outbox lease not renewed", "row", o.ID, "err", err)
			case err == nil && !ok:
				w.Log.Warn("outbox lease lost to another sender; stopping this delivery", "row", o.ID)
				lost.Store(true)
				stopSend()
				return
			case err == nil:
				held = until
			}
		}
	}()
	defer func() { stopSend(); <-renewed }()
	ctx = sendCtx
	// Composing reads (and may re-parse a large raw mail): keep it off the
	// single writer.
	var m *Composed
	var composeErr error
	if err := w.Store.View(ctx, func(tx ticketd.Tx) error {
		m, composeErr = w.Composer.Compose(tx, o)
		return nil
	}); err != nil {
		return false, err
	}
	sendErr := composeErr
	if sendErr == nil {
		sendErr = w.Transport.Send(ctx, o.ID, m)
	}
	if lost.Load() {
		// The row is another sender's now: record nothing.
		return false, nil
	}
	now = w.Now()
	if sendErr == nil {
		w.Log.Info("mail sent", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket, "attempt", o.Attempts+1)
		return true, w.Store.Update(ctx, func(tx ticketd.Tx) error {
			if err := tx.MarkSent(o.ID, now); err != nil {
				return err
			}
			if o.Ticket != 0 && o.Kind.ToCustomer() {
				// Customer-facing mails are part of the ticket's record.
				return tx.AddEvents([]*ticketd.Event{{Ticket: o.Ticket, Type: ticketd.EventDelivered, Actor: ticketd.ActorSystem, At: now, Detail: string(o.Kind)}})
			}
			return nil
		})
	}
	var perm *PermanentError
	giveUp := errors.As(sendErr, &perm) || composeErr != nil || now.Sub(o.CreatedAt) >= w.GiveUpAfter
	if !giveUp {
		next := now.Add(Backoff(o.Attempts + 1))
		w.Log.Warn("delivery failed, will retry", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket,
			"attempt", o.Attempts+1, "retry_at", next.Format(time.RFC3339), "err", sendErr)
		return false, w.Store.Update(ctx, func(tx ticketd.Tx) error {
			return tx.MarkRetry(o.ID, next, sendErr.Error())
		})
	}
	w.Log.Error("delivery failed, giving up", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket, "attempts", o.Attempts+1, "err", sendErr)
	return false, w.Store.Update(ctx, func(tx ticketd.Tx) error {
		if err := tx.MarkFailed(o.ID, sendErr.Error()); err != nil {
			return err
		}
		if o.Ticket == 0 {
			return nil
		}
		if err := tx.AddEvents([]*ticketd.Event{{Ticket: o.Ticket, Type: ticketd.EventDeliveryFailed, Actor: ticketd.ActorSystem, At: now,
			Detail: fmt.Sprintf("%s to %s: %v", o.Kind, o.Rcpt, sendErr)}}); err != nil {
			return err
		}
		if !o.Kind.ToCustomer() {
			// Telling agents that a mail to an agent failed could loop.
			return nil
		}
		return w.notifyFailure(tx, o, now, sendErr)
	})
}

// notifyFailure tells the assignee (or the mailbox's agents) that a mail to
// the customer could not be delivered.
func (w *Worker) notifyFailure(tx ticketd.Tx, o *ticketd.Outgoing, now time.Time, cause error) error {
	tk, err := tx.TicketByNumber(o.Ticket)
	if err != nil {
		return err
	}
	cfg := w.Composer.Config()
	var agents []string
	if mb := cfg.Mailbox(tk.Mailbox); mb != nil {
		agents = mb.Agents
	}
	np := ticketd.Params{Lang: o.Params.Lang, Recipient: o.Rcpt, Reason: cause.Error(), References: o.Params.References}
	var outs []*ticketd.Outgoing
	for _, r := range tk.AgentRecipients(agents, "") {
		outs = append(outs, ticketd.NewOutgoing(o.Ticket, ticketd.KindDeliveryFailed, r, 0, threading.NewMessageID(tk.Token, cfg.Server.Hostname), np, now))
	}
	return tx.Enqueue(outs...)
}

// Backoff is the wait before attempt n+1: 30s doubling, at most 2h.
func Backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < 2*time.Hour; i++ {
		d *= 2
	}
	return min(d, 2*time.Hour)
}
