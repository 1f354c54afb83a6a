package intake

import "github.com/ticketd/ticketd"

// writer is what applying a plan needs of a transaction.
type writer interface {
	InsertRaw(r *ticketd.Raw) error
	CreateTicket(tk *ticketd.Ticket) error
	SaveTicket(tk *ticketd.Ticket) error
	InsertMessage(m *ticketd.Message) error
	AddTag(ticket int64, tag string) (bool, error)
	AcceptOutsider(ticket int64, addr string) (int, error)
	RemoveTag(ticket int64, tag string) (bool, error)
	AddEvents(es []*ticketd.Event) error
	Enqueue(os ...*ticketd.Outgoing) error
}

// apply writes a plan: intake's one write step. raw is stored the first
// time a plan of the mail writes anything (a mail to two mailboxes is
// stored once).
func apply(tx writer, p *Plan, raw *ticketd.Raw) error {
	if p.Duplicate {
		return nil
	}
	if raw.ID == 0 {
		if err := tx.InsertRaw(raw); err != nil {
			return err
		}
	}
	tk := p.Ticket
	if tk == nil {
		// An answer to an agent (#lista): about no ticket.
		return tx.Enqueue(p.Outgoing...)
	}
	if tk.Number == 0 {
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		for _, e := range p.Events {
			e.Ticket = tk.Number
		}
		for _, o := range p.Outgoing {
			o.Ticket = tk.Number
		}
	}
	if m := p.Message; m != nil {
		m.Ticket, m.RawID = tk.Number, raw.ID
		if err := tx.InsertMessage(m); err != nil {
			return err
		}
		for _, o := range p.Outgoing {
			if o.MessageRef == RefThisMessage {
				o.MessageRef = m.ID
			}
		}
	}
	if n := p.Note; n != nil {
		n.Ticket, n.RawID = tk.Number, raw.ID
		if err := tx.InsertMessage(n); err != nil {
			return err
		}
	}
	for _, c := range p.Tags {
		var err error
		if c.Remove {
			_, err = tx.RemoveTag(tk.Number, c.Tag)
		} else {
			_, err = tx.AddTag(tk.Number, c.Tag)
		}
		if err != nil {
			return err
		}
	}
	for _, addr := range p.Accept {
		if _, err := tx.AcceptOutsider(tk.Number, addr); err != nil {
			return err
		}
	}
	if p.Save {
		if err := tx.SaveTicket(tk); err != nil {
			return err
		}
	}
	if err := tx.AddEvents(p.Events); err != nil {
		return err
	}
	return tx.Enqueue(p.Outgoing...)
}
