package desk

import (
	"strings"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
)

// ClosedDays is how far back the Cerrado folder reaches.
const ClosedDays = 30

// folder is one of the desk's folders, the same for every agent.
type folder struct {
	Name string
	// action is what moving a ticket's message into this folder does:
	// "take", "release", "close", or "" (moves here are refused).
	action string
	filter func(agent string, now time.Time) ticketd.DeskFilter
}

var (
	open       = []ticketd.Status{ticketd.StatusNuevo, ticketd.StatusPendiente, ticketd.StatusAbierto}
	folderList = []folder{
		{"INBOX", "", func(agent string, _ time.Time) ticketd.DeskFilter { return ticketd.WaitingFor(agent, nil) }},
		{"Nuevo", "", byStatus(ticketd.StatusNuevo)},
		{"Abierto", "", byStatus(ticketd.StatusAbierto)},
		{"Pendiente", "", byStatus(ticketd.StatusPendiente)},
		{"Cerrado", "close", func(_ string, now time.Time) ticketd.DeskFilter {
			return ticketd.DeskFilter{Statuses: []ticketd.Status{ticketd.StatusCerrado}, ClosedSince: now.Add(-ClosedDays * 24 * time.Hour)}
		}},
		{"Mios", "take", func(agent string, _ time.Time) ticketd.DeskFilter {
			return ticketd.DeskFilter{Statuses: open, Assignee: ticketd.DeskMine, Agent: agent}
		}},
		{"Libres", "release", func(string, time.Time) ticketd.DeskFilter {
			return ticketd.DeskFilter{Statuses: open, Assignee: ticketd.DeskNobody}
		}},
	}
)

func byStatus(s ticketd.Status) func(string, time.Time) ticketd.DeskFilter {
	return func(string, time.Time) ticketd.DeskFilter { return ticketd.DeskFilter{Statuses: []ticketd.Status{s}} }
}

// findFolder looks a folder up by name; INBOX in any case, the others as
// written (IMAP names are case-sensitive).
func findFolder(name string) *folder {
	if strings.EqualFold(name, "INBOX") {
		return &folderList[0]
	}
	for i := range folderList {
		if folderList[i].Name == name {
			return &folderList[i]
		}
	}
	return nil
}

// served is the mailboxes an agent serves: what she sees of the desk, and
// the scope her UIDVALIDITY stands for.
func served(cfg *config.Config, agent string) []string { return cfg.ServedBy(agent) }

// filterFor is the query of folder f for agent at now.
func filterFor(cfg *config.Config, f *folder, agent string, now time.Time) ticketd.DeskFilter {
	q := f.filter(agent, now)
	q.Mailboxes = served(cfg, agent)
	return q
}
