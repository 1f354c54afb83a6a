package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ticketd/ticketd"

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
	// Linger is how long Run waits after a Wake before it looks for rows
	// (default 20 ms): the rows of the mails that arrive meanwhile are
	// claimed in the same transaction, and the single writer that intake
	// waits on commits for the outbox a few times less often.
	Linger time.Duration
	// OnSent and OnFailed, when set, hear of each mail delivered or given
	// up on, after the outcome is recorded (the metrics' counters).
	OnSent, OnFailed func()

	wake chan struct{}
}

// lease is how long a claimed row is ours before another sender may take it.
const lease = 5 * time.Minute

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
	if w.Linger == 0 {
		w.Linger = 20 * time.Millisecond
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
			t.Stop()
			t = time.NewTimer(w.Linger)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
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
		// Claim a few deliveries' worth at a time, in one transaction:
		// claims keep any row from going out twice, and a smaller batch
		// keeps each claim well inside its lease.
		for len(due) > 0 && ctx.Err() == nil {
			batch := due[:min(len(due), 4*w.Concurrency)]
			due = due[len(batch):]
			n, err := w.deliverBatch(ctx, batch)
			sent += n
			if err != nil {
				return sent, err
			}
		}
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

// outcome is what became of one claimed row.
type outcome struct {
	o          *ticketd.Outgoing
	sendErr    error
	composeErr error
}

// deliverBatch claims rows, composes and sends them a few at once (a
// smarthost round trip or a file flush each, and a busy desk queues
// several mails per incoming one), and records the outcomes together: a
// commit for the claims and about one per delivery slot for the outcomes,
// rather than two per mail. It returns an error only when the database
// fails; a delivery failure is recorded on the row.
func (w *Worker) deliverBatch(ctx context.Context, batch []*ticketd.Outgoing) (int, error) {
	now := w.Now()
	var claimed []*ticketd.Outgoing
	err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
		claimed = claimed[:0]
		for _, o := range batch {
			ok, err := tx.Claim(o.ID, now, now.Add(lease))
			if err != nil {
				return err
			}
			if ok {
				claimed = append(claimed, o)
			}
		}
		return nil
	})
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	outcomes := make(chan outcome, len(claimed))
	var wg sync.WaitGroup
	slots := make(chan struct{}, w.Concurrency)
	for _, o := range claimed {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			outcomes <- w.attempt(ctx, o)
		}()
	}
	go func() { wg.Wait(); close(outcomes) }()
	// Record what is ready while the rest is still being sent.
	sent := 0
	var firstErr error
	for first := range outcomes {
		done := []outcome{first}
	more:
		for {
			select {
			case oc, ok := <-outcomes:
				if !ok {
					break more
				}
				done = append(done, oc)
			default:
				break more
			}
		}
		n, err := w.record(ctx, done)
		sent += n
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return sent, firstErr
}

// attempt composes and sends one claimed row.
func (w *Worker) attempt(ctx context.Context, o *ticketd.Outgoing) outcome {
	// Composing reads: keep it off the single writer.
	var m *Composed
	var composeErr error
	if err := w.Store.View(ctx, func(tx ticketd.Tx) error {
		m, composeErr = w.Composer.Compose(tx, o)
		return nil
	}); err != nil {
		// The database failed, not the mail: retried at the next pass.
		return outcome{o: o, sendErr: fmt.Errorf("read for composing: %w", err)}
	}
	if composeErr != nil {
		return outcome{o: o, sendErr: composeErr, composeErr: composeErr}
	}
	return outcome{o: o, sendErr: w.Transport.Send(ctx, o.ID, m)}
}

// record writes the outcomes of several deliveries in one transaction and
// returns how many were sent.
func (w *Worker) record(ctx context.Context, done []outcome) (int, error) {
	now := w.Now()
	sent, failed := 0, 0
	type step func(tx ticketd.Tx) error
	var steps []step
	for _, oc := range done {
		o, sendErr := oc.o, oc.sendErr
		if sendErr == nil {
			w.Log.Info("mail sent", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket, "attempt", o.Attempts+1)
			sent++
			steps = append(steps, func(tx ticketd.Tx) error {
				if err := tx.MarkSent(o.ID, now); err != nil {
					return err
				}
				if o.Ticket != 0 && o.Kind.ToCustomer() {
					// Customer-facing mails are part of the ticket's record.
					return tx.AddEvents([]*ticketd.Event{{Ticket: o.Ticket, Type: ticketd.EventDelivered, Actor: ticketd.ActorSystem, At: now, Detail: string(o.Kind)}})
				}
				return nil
			})
			continue
		}
		var perm *PermanentError
		var wait *WaitError
		held := errors.As(sendErr, &wait) // ticketd's own login, logged once where it failed
		giveUp := errors.As(sendErr, &perm) || oc.composeErr != nil || (now.Sub(o.CreatedAt) >= w.GiveUpAfter && !held)
		switch {
		case held:
			// Soon after the admin puts a new token in place, the mail goes.
			next := now.Add(min(Backoff(o.Attempts+1), 5*time.Minute))
			w.Log.Debug("delivery waits for the smarthost login", "row", o.ID, "ticket", o.Ticket, "retry_at", next.Format(time.RFC3339))
			steps = append(steps, func(tx ticketd.Tx) error { return tx.MarkRetry(o.ID, next, sendErr.Error()) })
		case !giveUp:
			next := now.Add(Backoff(o.Attempts + 1))
			w.Log.Warn("delivery failed, will retry", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket,
				"attempt", o.Attempts+1, "retry_at", next.Format(time.RFC3339), "err", sendErr)
			steps = append(steps, func(tx ticketd.Tx) error { return tx.MarkRetry(o.ID, next, sendErr.Error()) })
		default:
			w.Log.Error("delivery failed, giving up", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket, "attempts", o.Attempts+1, "err", sendErr)
			failed++
			steps = append(steps, func(tx ticketd.Tx) error {
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
	}
	err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
		for _, st := range steps {
			if err := st(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for range sent {
		if w.OnSent != nil {
			w.OnSent()
		}
	}
	for range failed {
		if w.OnFailed != nil {
			w.OnFailed()
		}
	}
	return sent, nil
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
