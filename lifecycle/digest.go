package lifecycle

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/threading"
)

// DigestDay is the day (in loc, "2006-01-02") whose digest is due at now:
// today's once its hour:minute has come, else "". A day whose digest time
// passed while the daemon was down is still today's, so it goes out late
// rather than never; yesterday's is not sent the next morning.
func DigestDay(now time.Time, loc *time.Location, hour, minute int) string {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	at := time.Date(now.Year(), now.Month(), now.Day(), hour, minute, 0, 0, loc)
	if now.Before(at) {
		return ""
	}
	return now.Format("2006-01-02")
}

func digestLine(a Action) string {
	switch a.Tickets {
	case 0:
		return fmt.Sprintf("digest %s (nothing waits)", a.Agent)
	case 1:
		return fmt.Sprintf("digest %s (1 ticket)", a.Agent)
	}
	return fmt.Sprintf("digest %s (%d tickets)", a.Agent, a.Tickets)
}

// planDigests finds the agents whose digest of today is due and not done.
func (s *Scheduler) planDigests(tx ticketd.Tx, cfg *config.Config, now time.Time) ([]Action, error) {
	h, m, ok := cfg.DigestClock()
	if !ok {
		return nil, nil
	}
	d, ok := tx.(ticketd.DeskTx)
	if !ok {
		return nil, nil
	}
	day := DigestDay(now, cfg.Server.Location, h, m)
	if day == "" {
		return nil, nil
	}
	var out []Action
	for _, ag := range cfg.Agents {
		boxes := cfg.ServedBy(ag.Email)
		if len(boxes) == 0 {
			continue
		}
		done, err := d.DigestSent(ag.Email, day)
		if err != nil || done {
			if err != nil {
				return nil, err
			}
			continue
		}
		es, err := d.DeskFolder(ticketd.WaitingFor(ag.Email, boxes))
		if err != nil {
			return nil, err
		}
		out = append(out, Action{Kind: Digest, Agent: strings.ToLower(ag.Email), Mailbox: boxes[0], Day: day, Tickets: len(es)})
	}
	return out, nil
}

// applyDigest claims the agent's digest of the day and, when tickets wait
// for her, queues the mail that lists them, oldest first. A day with
// nothing waiting is claimed too: the digest is a morning mail, not one
// that follows the first ticket of the afternoon.
func (s *Scheduler) applyDigest(tx ticketd.Tx, cfg *config.Config, a *Action, mailNow time.Time) (bool, error) {
	d, ok := tx.(ticketd.DeskTx)
	if !ok {
		return false, nil
	}
	claimed, err := d.ClaimDigest(a.Agent, a.Day, mailNow)
	if err != nil || !claimed {
		return false, err
	}
	o, err := DigestMail(tx, cfg, a.Agent, cfg.ServedBy(a.Agent), mailNow)
	if err != nil || o == nil {
		a.Tickets = 0
		return false, err
	}
	a.Tickets = len(o.Params.Tickets)
	return true, tx.Enqueue(o)
}

// DigestMail is the outbox row of an agent's list of waiting tickets
// (oldest first), from the first of the mailboxes she serves; nil when
// nothing waits. The daily digest and the answer to "#lista" both use it.
func DigestMail(tx ticketd.Tx, cfg *config.Config, agent string, boxes []string, now time.Time) (*ticketd.Outgoing, error) {
	d, ok := tx.(ticketd.DeskTx)
	if !ok || len(boxes) == 0 {
		return nil, nil
	}
	es, err := d.DeskFolder(ticketd.WaitingFor(agent, boxes))
	if err != nil || len(es) == 0 {
		return nil, err
	}
	tks := make([]*ticketd.Ticket, 0, len(es))
	for _, e := range es {
		tk, err := tx.TicketByNumber(e.Ticket)
		if err != nil {
			return nil, err
		}
		tks = append(tks, tk)
	}
	return DigestOf(cfg, agent, boxes[0], tks, threading.NewMessageIDPart(), now), nil
}

// DigestOf builds the digest row listing tickets (in any order) for agent,
// from mailbox; part is the random part of its Message-ID. It is pure.
func DigestOf(cfg *config.Config, agent, mailbox string, tickets []*ticketd.Ticket, part string, now time.Time) *ticketd.Outgoing {
	tks := append([]*ticketd.Ticket(nil), tickets...)
	sort.SliceStable(tks, func(i, j int) bool {
		if !tks[i].CreatedAt.Equal(tks[j].CreatedAt) {
			return tks[i].CreatedAt.Before(tks[j].CreatedAt)
		}
		return tks[i].Number < tks[j].Number
	})
	p := ticketd.Params{Mailbox: mailbox, Actor: ticketd.ActorSystem, Lang: cfg.Server.Language}
	if mb := cfg.Mailbox(mailbox); mb != nil {
		p.Lang = mb.Lang(cfg)
	}
	for _, tk := range tks {
		p.Tickets = append(p.Tickets, tk.Number)
	}
	host := cfg.Server.Hostname
	if host == "" {
		host = "ticketd.invalid"
	}
	return ticketd.NewOutgoing(0, ticketd.KindDigest, strings.ToLower(agent), 0, "tkd.digest."+part+"@"+host, p, now)
}
