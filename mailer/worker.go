package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
	// OnSent and OnFailed, when set, hear of each mail delivered or given
	// up on, after the outcome is recorded (the metrics' counters).
	OnSent, OnFailed func()
	// Owner names this sender in its claims; a process that starts again
	// under the same name takes back what its previous life had claimed
	// (see TakeBack). Default: one name per process.
	Owner string
	// RenewEvery is how often a claim is renewed while its mail is being
	// sent (default a third of the lease).
	RenewEvery time.Duration
	// Renewed, when set, is called after each renewal of a claim.
	Renewed func(row int64)
	// Linger lets due rows and finished deliveries gather this long before
	// they are claimed or recorded, so that a steady trickle of mail costs
	// the single writer (which intake waits on) a commit per few mails
	// instead of several per mail. Zero: no waiting.
	Linger time.Duration
	// Busy, when set, says that mail is being received: before composing,
	// a sender waits while it says so, at most MaxYield, so that a mail
	// waiting for its 250 gets the CPU before an acknowledgement waiting
	// to leave.
	Busy     func() bool
	MaxYield time.Duration

	wake chan struct{}
}

// Lease is how long a claimed row is ours before another sender may take
// it; it is renewed while the mail is being sent, so a slow smarthost
// does not lose it, and a sender that died holds it at most this long.
const Lease = 30 * time.Second

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
	if w.Owner == "" {
		host, _ := os.Hostname()
		w.Owner = fmt.Sprintf("pid%d@%s", os.Getpid(), host)
	}
	if w.RenewEvery <= 0 {
		w.RenewEvery = Lease / 3
	}
}

// TakeBack makes the rows this Owner claimed in a previous life (a process
// killed while sending) due now, instead of after their leases. Call it
// once at start, before Run.
func (w *Worker) TakeBack(ctx context.Context) (int, error) {
	w.init()
	var n int
	err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
		var err error
		n, err = tx.TakeBackClaims(w.Owner, w.Now())
		return err
	})
	if err == nil && n > 0 {
		w.Log.Warn("took back outbox rows claimed before a restart", "rows", n, "owner", w.Owner)
	}
	return n, err
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
//
// It is a pipeline, so that neither the database nor the smarthost waits
// for the other: rows are claimed in batches (one commit for up to 64),
// Concurrency senders compose and send them, and the outcomes are recorded
// in batches as they come (one commit for however many finished while the
// previous one was being written). A sender never waits for its outcome's
// commit; the claim keeps the row from anyone else until it is recorded.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	held := newHeld()
	jobs := make(chan *ticketd.Outgoing)
	outcomes := make(chan outcome, 2*w.Concurrency)
	var senders sync.WaitGroup
	for range w.Concurrency {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for o := range jobs {
				outcomes <- w.attempt(ctx, o)
			}
		}()
	}
	type recorded struct {
		sent int
		err  error
	}
	recDone := make(chan recorded, 1)
	go func() {
		sent, err := w.record(ctx, outcomes, held)
		recDone <- recorded{sent, err}
	}()
	stopRenew, renewDone := make(chan struct{}), make(chan struct{})
	go w.renew(ctx, held, stopRenew, renewDone)

	claimErr := w.feed(ctx, jobs, held)
	close(jobs)
	senders.Wait()
	close(outcomes)
	rec := <-recDone
	close(stopRenew)
	<-renewDone
	if claimErr != nil {
		return rec.sent, claimErr
	}
	if rec.err != nil {
		return rec.sent, rec.err
	}
	return rec.sent, ctx.Err()
}

// feed claims due rows in batches and hands them to the senders until no
// row is due. Rows being sent or waiting for their outcome's commit are
// claimed, so they are not due.
func (w *Worker) feed(ctx context.Context, jobs chan<- *ticketd.Outgoing, held *heldRows) error {
	for ctx.Err() == nil {
		now := w.Now()
		var claimed []*ticketd.Outgoing
		err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
			var err error
			claimed, err = tx.ClaimDue(w.Owner, now, now.Add(Lease), 64)
			return err
		})
		if err != nil {
			return err
		}
		if len(claimed) == 0 {
			return nil
		}
		held.add(claimed)
		for i, o := range claimed {
			select {
			case jobs <- o:
			case <-ctx.Done():
				// What was claimed and not handed out lapses with its
				// lease, or comes back at once when this sender starts
				// again (TakeBack).
				held.drop(claimed[i:])
				return ctx.Err()
			}
		}
		if len(claimed) < 64 && !w.linger(ctx) {
			return ctx.Err()
		}
	}
	return ctx.Err()
}

// yield waits while Busy says mail is being received, at most MaxYield.
func (w *Worker) yield(ctx context.Context) {
	if w.Busy == nil || w.MaxYield <= 0 {
		return
	}
	deadline := time.Now().Add(w.MaxYield)
	for w.Busy() && time.Now().Before(deadline) && ctx.Err() == nil {
		// Every 2 ms: a sender that looked more often would spend, over
		// all senders, a few percent of a core waking up to look, which
		// is the CPU it waits to leave to intake.
		time.Sleep(2 * time.Millisecond)
	}
}

// linger waits Linger; false when ctx ended meanwhile.
func (w *Worker) linger(ctx context.Context) bool {
	if w.Linger <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(w.Linger)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	return true
}

// heldRows are the rows this RunOnce claimed and has not recorded yet.
type heldRows struct {
	mu  sync.Mutex
	ids map[int64]bool
}

func newHeld() *heldRows { return &heldRows{ids: map[int64]bool{}} }

func (h *heldRows) add(rows []*ticketd.Outgoing) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range rows {
		h.ids[o.ID] = true
	}
}

func (h *heldRows) drop(rows []*ticketd.Outgoing) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range rows {
		delete(h.ids, o.ID)
	}
}

func (h *heldRows) list() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]int64, 0, len(h.ids))
	for id := range h.ids {
		out = append(out, id)
	}
	return out
}

// renew keeps the claims on the held rows alive, all in one commit every
// RenewEvery, until stop is closed.
func (w *Worker) renew(ctx context.Context, held *heldRows, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(w.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := held.list()
		if len(ids) == 0 {
			continue
		}
		var renewed []int64
		err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
			renewed = renewed[:0]
			until := w.Now().Add(Lease)
			for _, id := range ids {
				ok, err := tx.RenewClaim(id, w.Owner, until)
				if err != nil {
					return err
				}
				if ok {
					renewed = append(renewed, id)
				}
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				w.Log.Warn("outbox claims not renewed", "rows", len(ids), "err", err)
			}
			continue
		}
		if w.Renewed != nil {
			for _, id := range renewed {
				w.Renewed(id)
			}
		}
	}
}

// outcome is what one attempt at a row came to.
type outcome struct {
	o          *ticketd.Outgoing
	dbErr      error // reading for the composition failed: nothing to record
	composeErr error
	sendErr    error // composeErr, or the transport's answer
	at         time.Time
}

// attempt composes and sends one claimed row.
func (w *Worker) attempt(ctx context.Context, o *ticketd.Outgoing) outcome {
	w.yield(ctx)
	// Composing reads (and never writes): it runs beside the writer.
	var c *Composed
	var composeErr error
	if err := w.Store.View(ctx, func(tx ticketd.Tx) error {
		c, composeErr = w.Composer.Compose(tx, o)
		return nil
	}); err != nil {
		return outcome{o: o, dbErr: err}
	}
	sendErr := composeErr
	if sendErr == nil {
		sendErr = w.Transport.Send(ctx, o.ID, c)
	}
	return outcome{o: o, composeErr: composeErr, sendErr: sendErr, at: w.Now()}
}

// record writes the outcomes as they come, as many in one commit as have
// finished meanwhile, and returns how many mails were sent. It records
// even after ctx ends: a mail that went out must not go out again.
func (w *Worker) record(ctx context.Context, outcomes <-chan outcome, held *heldRows) (int, error) {
	ctx = context.WithoutCancel(ctx)
	sent := 0
	var firstErr error
	batch := make([]outcome, 0, 64)
	for first := range outcomes {
		batch = append(batch[:0], first)
		var until <-chan time.Time
		var t *time.Timer
		if w.Linger > 0 {
			t = time.NewTimer(w.Linger)
			until = t.C
		}
	more:
		for len(batch) < cap(batch) {
			if until == nil {
				select {
				case oc, ok := <-outcomes:
					if !ok {
						break more
					}
					batch = append(batch, oc)
				default:
					break more
				}
				continue
			}
			select {
			case oc, ok := <-outcomes:
				if !ok {
					break more
				}
				batch = append(batch, oc)
			case <-until:
				break more
			}
		}
		if t != nil {
			t.Stop()
		}
		n, err := w.recordBatch(ctx, batch)
		sent += n
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, oc := range batch {
			held.drop([]*ticketd.Outgoing{oc.o})
		}
	}
	return sent, firstErr
}

// recordBatch records outcomes in one commit; if that fails, each on its
// own, so that one row that cannot be recorded does not make the others
// go out again when their claims lapse.
func (w *Worker) recordBatch(ctx context.Context, batch []outcome) (int, error) {
	var dbErr error
	todo := batch[:0:0]
	for _, oc := range batch {
		if oc.dbErr != nil {
			if dbErr == nil {
				dbErr = oc.dbErr
			}
			continue
		}
		todo = append(todo, oc)
	}
	if len(todo) == 0 {
		return 0, dbErr
	}
	var after []func()
	err := w.Store.Update(ctx, func(tx ticketd.Tx) error {
		after = after[:0]
		for _, oc := range todo {
			f, err := w.settle(tx, oc)
			if err != nil {
				return err
			}
			after = append(after, f)
		}
		return nil
	})
	if err == nil {
		sent := 0
		for i, f := range after {
			if todo[i].sendErr == nil {
				sent++
			}
			f()
		}
		return sent, dbErr
	}
	if len(todo) == 1 {
		return 0, err
	}
	sent := 0
	for _, oc := range todo {
		n, err := w.recordBatch(ctx, []outcome{oc})
		sent += n
		if err != nil && dbErr == nil {
			dbErr = err
		}
	}
	return sent, dbErr
}

// settle records one outcome in tx and returns what to do once that is
// committed (log it, count it).
func (w *Worker) settle(tx ticketd.Tx, oc outcome) (func(), error) {
	o, now, sendErr := oc.o, oc.at, oc.sendErr
	if sendErr == nil {
		if err := tx.MarkSent(o.ID, now); err != nil {
			return nil, err
		}
		if o.Ticket != 0 && o.Kind.ToCustomer() {
			// Customer-facing mails are part of the ticket's record.
			if err := tx.AddEvents([]*ticketd.Event{{Ticket: o.Ticket, Type: ticketd.EventDelivered, Actor: ticketd.ActorSystem, At: now, Detail: string(o.Kind)}}); err != nil {
				return nil, err
			}
		}
		return func() {
			w.Log.Info("mail sent", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket, "attempt", o.Attempts+1)
			if w.OnSent != nil {
				w.OnSent()
			}
		}, nil
	}
	var perm *PermanentError
	var wait *WaitError
	held := errors.As(sendErr, &wait) // ticketd's own login, logged once where it failed
	giveUp := errors.As(sendErr, &perm) || oc.composeErr != nil || (now.Sub(o.CreatedAt) >= w.GiveUpAfter && !held)
	if held {
		// Soon after the admin puts a new token in place, the mail goes.
		next := now.Add(min(Backoff(o.Attempts+1), 5*time.Minute))
		if err := tx.MarkRetry(o.ID, next, sendErr.Error()); err != nil {
			return nil, err
		}
		return func() {
			w.Log.Debug("delivery waits for the smarthost login", "row", o.ID, "ticket", o.Ticket, "retry_at", next.Format(time.RFC3339))
		}, tx.ReleaseClaim(o.ID)
	}
	if !giveUp {
		next := now.Add(Backoff(o.Attempts + 1))
		if err := tx.MarkRetry(o.ID, next, sendErr.Error()); err != nil {
			return nil, err
		}
		return func() {
			w.Log.Warn("delivery failed, will retry", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket,
				"attempt", o.Attempts+1, "retry_at", next.Format(time.RFC3339), "err", sendErr)
		}, tx.ReleaseClaim(o.ID)
	}
	if err := tx.MarkFailed(o.ID, sendErr.Error()); err != nil {
		return nil, err
	}
	done := func() {
		w.Log.Error("delivery failed, giving up", "row", o.ID, "kind", o.Kind, "ticket", o.Ticket, "attempts", o.Attempts+1, "err", sendErr)
		if w.OnFailed != nil {
			w.OnFailed()
		}
	}
	if o.Ticket == 0 {
		return done, nil
	}
	if err := tx.AddEvents([]*ticketd.Event{{Ticket: o.Ticket, Type: ticketd.EventDeliveryFailed, Actor: ticketd.ActorSystem, At: now,
		Detail: fmt.Sprintf("%s to %s: %v", o.Kind, o.Rcpt, sendErr)}}); err != nil {
		return nil, err
	}
	if !o.Kind.ToCustomer() {
		// Telling agents that a mail to an agent failed could loop.
		return done, nil
	}
	return done, w.notifyFailure(tx, o, now, sendErr)
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
