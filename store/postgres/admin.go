package postgres

import (
	"strings"
	"time"

	"github.com/ticketd/ticketd"
)

// CountTickets returns how many tickets the database holds.
func (t *Tx) CountTickets() (int, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM tickets`).Scan(&n); err != nil {
		return 0, wrapErr("count tickets", err)
	}
	return n, nil
}

// MetricsCounts counts queued outgoing mail, tickets per status, and the
// mails stored after raw mail afterRawID by source.
func (t *Tx) MetricsCounts(afterRawID int64) (ticketd.MetricsCounts, error) {
	c := ticketd.MetricsCounts{Tickets: map[string]int{}, Received: map[string]int{}}
	if err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE state = 'queued'`).Scan(&c.OutboxQueued); err != nil {
		return c, wrapErr("metrics outbox", err)
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(id), 0) FROM raw_messages`).Scan(&c.LastRawID); err != nil {
		return c, wrapErr("metrics raw", err)
	}
	if err := t.countInto(c.Tickets, `SELECT status, COUNT(*) FROM tickets GROUP BY status`); err != nil {
		return c, wrapErr("metrics tickets", err)
	}
	if err := t.countInto(c.Received, `SELECT source, COUNT(*) FROM raw_messages WHERE id > $1 GROUP BY source`, afterRawID); err != nil {
		return c, wrapErr("metrics received", err)
	}
	return c, nil
}

func (t *Tx) countInto(m map[string]int, q string, args ...any) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		m[k] = n
	}
	return rows.Err()
}

// CustomerData collects everything stored about an address (a GDPR access
// request): its tickets with their histories, every message it wrote, the
// raw mails behind them, and the mails sent to it.
func (t *Tx) CustomerData(addr string) (*ticketd.CustomerData, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	d := &ticketd.CustomerData{Address: addr, Events: map[int64][]ticketd.Event{}}
	rows, err := t.query(`SELECT `+ticketCols+` FROM tickets WHERE lower(requester_addr) = $1 ORDER BY number`, addr)
	if err != nil {
		return nil, wrapErr("customer tickets", err)
	}
	if d.Tickets, err = scanTickets(rows); err != nil {
		return nil, wrapErr("customer tickets", err)
	}
	names := map[string]bool{}
	for _, tk := range d.Tickets {
		if tk.Tags, err = t.Tags(tk.Number); err != nil {
			return nil, err
		}
		if d.Events[tk.Number], err = t.Events(tk.Number); err != nil {
			return nil, err
		}
		if tk.RequesterName != "" {
			names[tk.RequesterName] = true
		}
	}
	ids, err := t.numbers("customer messages", `SELECT id FROM messages WHERE lower(from_addr) = $1 ORDER BY id`, addr)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		m, err := t.Message(id)
		if err != nil {
			return nil, err
		}
		d.Messages = append(d.Messages, m)
		if m.FromName != "" {
			names[m.FromName] = true
		}
	}
	for n := range names {
		d.Names = append(d.Names, n)
	}
	raws, err := t.query(`SELECT id, received_at, source, size, sha256 FROM raw_messages
		WHERE lower(envelope_from) = $1 OR id IN (SELECT raw_id FROM messages WHERE lower(from_addr) = $1) ORDER BY id`, addr)
	if err != nil {
		return nil, wrapErr("customer raw mails", err)
	}
	defer raws.Close()
	for raws.Next() {
		var r ticketd.RawInfo
		var at time.Time
		if err := raws.Scan(&r.ID, &at, &r.Source, &r.Size, &r.SHA256); err != nil {
			return nil, wrapErr("customer raw mails", err)
		}
		r.ReceivedAt = fromT(at)
		d.RawMails = append(d.RawMails, r)
	}
	if err := raws.Err(); err != nil {
		return nil, wrapErr("customer raw mails", err)
	}
	sent, err := t.query(`SELECT `+outCols+` FROM outbox WHERE lower(rcpt) = $1 ORDER BY id`, addr)
	if err != nil {
		return nil, wrapErr("customer mails sent", err)
	}
	defer sent.Close()
	for sent.Next() {
		o, err := scanOut(sent)
		if err != nil {
			return nil, wrapErr("customer mails sent", err)
		}
		d.Sent = append(d.Sent, o)
	}
	return d, sent.Err()
}
