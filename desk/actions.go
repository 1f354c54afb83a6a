package desk

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/lifecycle"
)

// act carries out a COPY or MOVE into dest: into Mios it takes the
// tickets, into Libres it releases them, into Cerrado it closes them.
// Moves into any other folder are refused: they would change nothing.
func (s *session) act(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	sel := s.sel
	if sel.readOnly {
		return nil, no(imap.ResponseCodeCannot, "The folder is open read-only (EXAMINE)")
	}
	f := findFolder(dest)
	switch {
	case f == nil:
		return nil, no(imap.ResponseCodeTryCreate, "No folder %q; move a ticket into Mios to take it, Libres to release it, Cerrado to close it", dest)
	case f == sel.f:
		return nil, no(imap.ResponseCodeCannot, "The ticket is in %s already", f.Name)
	case f.action == "":
		return nil, no(imap.ResponseCodeCannot, "%s shows tickets by their status; move a ticket into Mios to take it, Libres to release it, Cerrado to close it", f.Name)
	}
	idx := s.pick(numSet)
	if len(idx) == 0 {
		return nil, nil
	}
	var entries []ticketd.DeskEntry
	seenBefore := map[uint32]bool{}
	for _, i := range idx {
		e := sel.entries[i]
		entries = append(entries, e)
		seenBefore[e.UID] = sel.seen[e.UID]
	}
	newUIDs, err := s.srv.perform(s.agent, f, entries, seenBefore)
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) {
			return nil, err
		}
		s.srv.opt.Log.Error("desk: move", "from", s.agent, "folder", f.Name, "err", err)
		return nil, no(imap.ResponseCodeUnavailable, "Try again later")
	}
	data := &imap.CopyData{UIDValidity: s.uidValidity}
	for i, e := range entries {
		sel.acted[e.UID] = true
		data.SourceUIDs.AddNum(imap.UID(e.UID))
		data.DestUIDs.AddNum(imap.UID(newUIDs[i]))
	}
	return data, nil
}

// movedDetail is the history's note of how a desk close was asked for.
const movedDetail = "moved into Cerrado in the desk"

// perform applies one folder's action to tickets on agent's behalf, in one
// transaction, with the same rules and history entries as the command in a
// mail (lifecycle's Assign, Release, CloseBy). It returns each ticket's
// desk UID afterwards; a ticket the agent had seen stays seen for her.
func (s *Server) perform(agent string, f *folder, entries []ticketd.DeskEntry, seenBefore map[uint32]bool) ([]uint32, error) {
	cfg := s.cfg()
	now := s.opt.Now().UTC()
	boxes := served(cfg, agent)
	var out []uint32
	queued := false
	err := s.update(func(tx ticketd.Tx, d ticketd.DeskTx) error {
		out, queued = out[:0], false
		for _, e := range entries {
			tk, err := tx.TicketByNumber(e.Ticket)
			if err != nil {
				return err
			}
			if !slices.Contains(boxes, strings.ToLower(tk.Mailbox)) {
				return no(imap.ResponseCodeNoPerm, "Ticket #%d is not in a mailbox you serve", tk.Number)
			}
			before := tk.Assignee
			var evs []ticketd.Event
			switch f.action {
			case "take":
				if tk.Status == ticketd.StatusCerrado {
					return no(imap.ResponseCodeCannot, "Ticket #%d is closed; answer the customer to open it again", tk.Number)
				}
				evs = lifecycle.Assign(tk, agent, agent, now)
			case "release":
				if tk.Status == ticketd.StatusCerrado {
					return no(imap.ResponseCodeCannot, "Ticket #%d is closed", tk.Number)
				}
				evs = lifecycle.Release(tk, agent, now)
			case "close":
				evs = lifecycle.CloseBy(tk, agent, movedDetail, now)
			}
			if len(evs) > 0 {
				if err := tx.SaveTicket(tk); err != nil {
					return err
				}
				ptrs := make([]*ticketd.Event, len(evs))
				for i := range evs {
					ptrs[i] = &evs[i]
				}
				if err := tx.AddEvents(ptrs); err != nil {
					return err
				}
				mails, err := s.notices(tx, tk, f.action, agent, before, now)
				if err != nil {
					return err
				}
				if len(mails) > 0 {
					if err := tx.Enqueue(mails...); err != nil {
						return err
					}
					queued = true
				}
			}
		}
		// The new UIDs are read once every ticket is changed: on an engine
		// where one transaction at a time issues UIDs (PostgreSQL), reading
		// them takes that turn until the commit, and no ticket lock should
		// be waited for while holding it.
		var keepSeen []uint32
		for _, e := range entries {
			cur, err := d.DeskEntry(e.Ticket)
			if err != nil {
				return err
			}
			if seenBefore[e.UID] && cur.UID != e.UID {
				keepSeen = append(keepSeen, cur.UID)
			}
			out = append(out, cur.UID)
		}
		if len(keepSeen) > 0 {
			return d.SetDeskSeen(agent, keepSeen, true)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Notify()
	if queued && s.opt.Wake != nil {
		s.opt.Wake()
	}
	return out, nil
}
