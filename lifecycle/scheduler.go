package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/threading"
)

// Store is what a scheduler pass needs of the database: read and write
// transactions over the store's types. A ticketd.Store is one.
type Store interface {
	View(ctx context.Context, fn func(ticketd.Tx) error) error
	Update(ctx context.Context, fn func(ticketd.Tx) error) error
}

// Scheduler reminds customers of pending tickets and closes the tickets they
// abandoned. A pass is stateless: everything it needs is in the database, so
// a daemon that was down simply finds more work due, and `ticketd sweep` may
// run beside `ticketd serve` (every change is re-checked inside the
// transaction that makes it, so no ticket is reminded or closed twice).
type Scheduler struct {
	Store  Store
	Config func() *config.Config
	// Now is the moment a pass acts as of: its decisions and events.
	Now func() time.Time
	// MailNow is when the mails it queues are due (sweep --now plans in the
	// past or future, but mails go out at once). Now when nil.
	MailNow func() time.Time
	Log     *slog.Logger
}

// Action is one thing a pass did (or, planned, would do).
type Action struct {
	Ticket  int64
	Mailbox string
	Kind    Due       // Remind, Close or Digest
	CloseAt time.Time // for reminders: the close date the customer is told
	// For digests: whose, of which day, and how many tickets it lists.
	Agent   string
	Day     string
	Tickets int
}

func (a Action) String() string {
	if a.Kind == Digest {
		return digestLine(a)
	}
	return fmt.Sprintf("#%d %s", a.Ticket, a.Kind)
}

// batch bounds how many tickets share one transaction.
const batch = 200

// Plan returns what a pass at s.Now() would do, changing nothing.
func (s *Scheduler) Plan(ctx context.Context) ([]Action, error) {
	now := s.Now().UTC()
	var out []Action
	err := s.Store.View(ctx, func(tx ticketd.Tx) error {
		cfg := s.Config()
		cands, err := s.due(tx, cfg, now)
		if err != nil {
			return err
		}
		// The queries find candidates; the rule decides (as Pass will).
		for _, a := range cands {
			mb := cfg.Mailbox(a.Mailbox)
			tk, err := tx.TicketByNumber(a.Ticket)
			if err != nil {
				return err
			}
			cd, rd := mb.CloseDays(cfg), max(mb.ReminderDays(cfg), 0)
			if DueAt(Pending{tk.Status, tk.PendingSince, tk.ReminderSentAt}, now, cd, rd) != a.Kind {
				continue
			}
			if a.Kind == Remind {
				a.CloseAt = CloseAt(tk.PendingSince, now, cd, rd)
			}
			out = append(out, a)
		}
		digests, err := s.planDigests(tx, cfg, now)
		out = append(out, digests...)
		return err
	})
	return out, err
}

// due finds every ticket owed something at now: closes first, so that a
// ticket reminded in a pass is never closed in the same pass.
func (s *Scheduler) due(tx ticketd.Tx, cfg *config.Config, now time.Time) ([]Action, error) {
	var out []Action
	for i := range cfg.Mailboxes {
		mb := &cfg.Mailboxes[i]
		cd, rd := mb.CloseDays(cfg), max(mb.ReminderDays(cfg), 0)
		if cd <= 0 {
			continue
		}
		closes, err := tx.DueCloses(mb.Address, now.Add(-days(rd)), now.Add(-days(cd)))
		if err != nil {
			return nil, err
		}
		reminders, err := tx.DueReminders(mb.Address, now.Add(-days(cd-rd)))
		if err != nil {
			return nil, err
		}
		for _, n := range closes {
			out = append(out, Action{Ticket: n, Mailbox: mb.Address, Kind: Close})
		}
		for _, n := range reminders {
			out = append(out, Action{Ticket: n, Mailbox: mb.Address, Kind: Remind})
		}
	}
	return out, nil
}

// Pass reminds and closes whatever is due at s.Now(). Each ticket's change
// commits together with its history and its outbox row. It returns what it
// did; the caller wakes the outbox worker.
//
// On a database several processes share, passes take turns (an advisory
// lock): the second one starts after the first committed, and finds done
// what the first did.
func (s *Scheduler) Pass(ctx context.Context) (done []Action, err error) {
	if sh, ok := s.Store.(ticketd.Shared); ok {
		err = sh.Exclusive(ctx, "scheduler pass", func(ctx context.Context) error {
			done, err = s.pass(ctx)
			return err
		})
		return done, err
	}
	return s.pass(ctx)
}

func (s *Scheduler) pass(ctx context.Context) ([]Action, error) {
	now := s.Now().UTC()
	mailNow := now
	if s.MailNow != nil {
		mailNow = s.MailNow().UTC()
	}
	planned, err := s.Plan(ctx)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: plan: %w", err)
	}
	var done []Action
	for start := 0; start < len(planned); start += batch {
		chunk := planned[start:min(start+batch, len(planned))]
		var did []Action
		err := s.Store.Update(ctx, func(tx ticketd.Tx) error {
			did = did[:0]
			cfg := s.Config()
			for _, a := range chunk {
				ok, err := s.apply(tx, cfg, &a, now, mailNow)
				if err != nil {
					return fmt.Errorf("ticket %d: %w", a.Ticket, err)
				}
				if ok {
					did = append(did, a)
				}
			}
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("lifecycle: pass: %w", err)
		}
		done = append(done, did...)
	}
	for _, a := range done {
		if a.Kind == Digest {
			s.log().Info("scheduler", "agent", a.Agent, "action", a.Kind.String(), "tickets", a.Tickets)
			continue
		}
		s.log().Info("scheduler", "ticket", a.Ticket, "action", a.Kind.String())
	}
	return done, nil
}

// apply re-reads the ticket and, if the action is still due (another
// process or a reply may have come first), carries it out.
func (s *Scheduler) apply(tx ticketd.Tx, cfg *config.Config, a *Action, now, mailNow time.Time) (bool, error) {
	if a.Kind == Digest {
		return s.applyDigest(tx, cfg, a, mailNow)
	}
	mb := cfg.Mailbox(a.Mailbox)
	if mb == nil {
		return false, nil
	}
	tk, err := tx.TicketByNumber(a.Ticket)
	if err != nil {
		return false, err
	}
	cd, rd := mb.CloseDays(cfg), max(mb.ReminderDays(cfg), 0)
	if DueAt(Pending{tk.Status, tk.PendingSince, tk.ReminderSentAt}, now, cd, rd) != a.Kind {
		return false, nil
	}
	th, err := tx.ThreadIDs(tk.Number)
	if err != nil {
		return false, err
	}
	p := th.Reply("")
	p.Lang, p.Actor = mb.Lang(cfg), ticketd.ActorSystem
	var kind ticketd.OutboxKind
	var events []*ticketd.Event
	switch a.Kind {
	case Remind:
		a.CloseAt = CloseAt(tk.PendingSince, now, cd, rd)
		tk.ReminderSentAt, tk.UpdatedAt = now, now
		kind = ticketd.KindReminder
		p.CloseAt = a.CloseAt.Format(time.RFC3339)
		events = append(events, &ticketd.Event{Ticket: tk.Number, Type: ticketd.EventReminder, Actor: ticketd.ActorSystem, At: now,
			Detail: "to " + tk.RequesterAddr + "; closes " + a.CloseAt.Format(time.RFC3339) + " unless they reply"})
	case Close:
		detail := fmt.Sprintf("no reply since %s (pending %d days, reminded %s)",
			tk.PendingSince.Format(time.RFC3339), cd, tk.ReminderSentAt.Format(time.RFC3339))
		st := Transition(tk, ticketd.StatusCerrado, ticketd.ActorSystem, now)
		kind = ticketd.KindClosed
		events = append(events, &st, &ticketd.Event{Ticket: tk.Number, Type: ticketd.EventClosed, Actor: ticketd.ActorSystem, At: now, Detail: detail})
	default:
		return false, nil
	}
	if err := tx.SaveTicket(tk); err != nil {
		return false, err
	}
	if err := tx.AddEvents(events); err != nil {
		return false, err
	}
	if tk.RequesterAddr == "" || isOurs(cfg, tk.RequesterAddr) {
		return true, nil
	}
	return true, tx.Enqueue(ticketd.NewOutgoing(tk.Number, kind, tk.RequesterAddr, 0, threading.NewMessageID(tk.Token, cfg.Server.Hostname), p, mailNow))
}

func isOurs(cfg *config.Config, addr string) bool {
	_, ours := threading.ParseRecipient(addr, cfg.MailboxAddresses())
	return ours || strings.EqualFold(addr, "mailer-daemon")
}

// Run makes a pass every interval() until ctx ends, and wakes the outbox
// worker when a pass queued mail. A failed pass (a locked database, say) is
// logged and tried again at the next interval.
func (s *Scheduler) Run(ctx context.Context, interval func() time.Duration, wake func()) error {
	for {
		done, err := s.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.log().Error("scheduler pass failed", "err", err)
		}
		if len(done) > 0 && wake != nil {
			wake()
		}
		d := interval()
		if d <= 0 {
			d = time.Minute
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
