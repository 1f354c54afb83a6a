package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/store"
)

func init() {
	commands["tickets"] = command{"list, show and search tickets: tickets list|show N|search QUERY", runTickets}
}

// ticketSubcommands can be extended by other files (search).
var ticketSubcommands = map[string]func(env *cmdEnv, args []string) int{
	"list": runTicketsList,
	"show": runTicketsShow,
}

func runTickets(env *cmdEnv, args []string) int {
	return runGroup(env, "tickets", ticketSubcommands, args)
}

// runGroup runs a subcommand of a command group (tickets, keys,
// customers): "GROUP --help" and "GROUP help [SUB]" answer on stdout.
func runGroup(env *cmdEnv, group string, subs map[string]func(*cmdEnv, []string) int, args []string) int {
	groupUsage := func(w io.Writer) {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(w, "usage:")
		for _, n := range names {
			line := usageLines[group+" "+n]
			if line == "" {
				line = "ticketd " + group + " " + n
			}
			fmt.Fprintf(w, "  %s\n", strings.SplitN(line, "\n", 2)[0])
		}
		fmt.Fprintf(w, "\nticketd help %s SUBCOMMAND tells more.\n", group)
	}
	if len(args) == 0 {
		groupUsage(env.stderr)
		return exitUsage
	}
	if isHelp(args[0]) || args[0] == "help" {
		if args[0] == "help" && len(args) > 1 && subs[args[1]] != nil {
			return subs[args[1]](env, []string{"--help"})
		}
		groupUsage(env.stdout)
		return exitOK
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "ticketd %s: unknown subcommand %q\n\n", group, args[0])
		groupUsage(env.stderr)
		return exitUsage
	}
	return sub(env, args[1:])
}

// openStore opens the configured database for reading and writing.
func openStore(f *flags) (ticketd.Store, *config.Config, int) {
	cfg, ok := f.loadConfig()
	if !ok {
		return nil, nil, exitConfig
	}
	st, err := store.OpenConfig(context.Background(), cfg, store.Options{})
	if err != nil {
		fmt.Fprintf(f.env.stderr, "ticketd: %v\n", err)
		return nil, nil, exitTempFail
	}
	return st, cfg, 0
}

func runTicketsList(env *cmdEnv, args []string) int {
	f := newFlags(env, "tickets list")
	status := f.String("status", "", "only tickets with this status (nuevo, pendiente, abierto, cerrado; or new, pending, open, closed)")
	limit := f.Int("limit", 0, "at most N tickets (default all)")
	asJSON := f.Bool("json", false, "print a JSON array")
	if _, code, ok := f.parse(args); !ok {
		return code
	}
	if !validStatus(env, "tickets list", status) {
		return exitUsage
	}
	st, cfg, code := openStore(f)
	if st == nil {
		return code
	}
	defer st.Close()
	var out []ticketJSON
	err := st.View(context.Background(), func(tx ticketd.Tx) error {
		tks, err := tx.ListTickets(ticketd.TicketFilter{Status: ticketd.Status(*status), Limit: *limit})
		if err != nil {
			return err
		}
		for _, tk := range tks {
			j, err := loadTicketJSON(tx, cfg, tk, *asJSON)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitTempFail
	}
	if *asJSON {
		if out == nil {
			out = []ticketJSON{}
		}
		return printJSON(env.stdout, out)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTATUS\tUPDATED\tREQUESTER\tASSIGNEE\tSUBJECT")
	for _, t := range out {
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Status, t.UpdatedAt.Format("2006-01-02 15:04"),
			t.Requester, dash(t.Assignee), t.Subject)
	}
	tw.Flush()
	return exitOK
}

func runTicketsShow(env *cmdEnv, args []string) int {
	f := newFlags(env, "tickets show")
	asJSON := f.Bool("json", false, "print one JSON object")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "usage: ticketd tickets show N [--json]")
		return exitUsage
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd tickets show: %q is not a ticket number\n", pos[0])
		return exitUsage
	}
	st, cfg, code := openStore(f)
	if st == nil {
		return code
	}
	defer st.Close()
	var j ticketJSON
	err = st.View(context.Background(), func(tx ticketd.Tx) error {
		tk, err := tx.TicketByNumber(n)
		if err != nil {
			return err
		}
		j, err = loadTicketJSON(tx, cfg, tk, true)
		return err
	})
	if errors.Is(err, ticketd.ErrNotFound) {
		fmt.Fprintf(env.stderr, "ticketd tickets show: no ticket #%d\n", n)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitTempFail
	}
	if *asJSON {
		return printJSON(env.stdout, j)
	}
	printTicket(env.stdout, j)
	return exitOK
}

// The JSON shapes below are a documented contract (README): fields may be
// added, never renamed or removed.
type ticketJSON struct {
	Number        int64         `json:"number"`
	Token         string        `json:"token"`
	Status        string        `json:"status"`
	Subject       string        `json:"subject"`
	Mailbox       string        `json:"mailbox"`
	Requester     string        `json:"requester"`      // the customer's address
	RequesterName string        `json:"requester_name"` // and display name
	Assignee      string        `json:"assignee"`
	Priority      string        `json:"priority"`
	Tags          []string      `json:"tags"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	Messages      []messageJSON `json:"messages"`
	Events        []eventJSON   `json:"events"`
}

type messageJSON struct {
	ID          int64            `json:"id"`
	Author      string           `json:"author"`
	From        string           `json:"from"`
	FromName    string           `json:"from_name"`
	MessageID   string           `json:"message_id"`
	Subject     string           `json:"subject"`
	Text        string           `json:"text"`
	FullText    string           `json:"full_text"`
	CutFlagged  bool             `json:"cut_flagged"`
	Internal    bool             `json:"internal"`
	Automatic   bool             `json:"automatic"`
	Unverified  bool             `json:"unverified"`
	Outsider    bool             `json:"outsider"`
	ParseError  string           `json:"parse_error,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	Attachments []attachmentJSON `json:"attachments"`
}

type attachmentJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
}

type eventJSON struct {
	Type   string    `json:"type"`
	Actor  string    `json:"actor"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail"`
}

// loadTicketJSON builds a ticket's JSON. An agent's messages carry the
// agent's configured name (what customers see), not whatever the agent's
// mail client put in From.
func loadTicketJSON(tx ticketd.Tx, cfg *config.Config, tk *ticketd.Ticket, full bool) (ticketJSON, error) {
	j := ticketJSON{
		Number: tk.Number, Token: tk.Token, Status: string(tk.Status), Subject: tk.Subject, Mailbox: tk.Mailbox,
		Requester: tk.RequesterAddr, RequesterName: tk.RequesterName,
		Assignee: tk.Assignee, Priority: string(tk.Priority), Tags: tk.Tags,
		CreatedAt: tk.CreatedAt, UpdatedAt: tk.UpdatedAt,
		Messages: []messageJSON{}, Events: []eventJSON{},
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if !full {
		return j, nil
	}
	msgs, err := tx.Messages(tk.Number)
	if err != nil {
		return j, err
	}
	for _, m := range msgs {
		j.Messages = append(j.Messages, messageToJSON(cfg, m))
	}
	evs, err := tx.Events(tk.Number)
	if err != nil {
		return j, err
	}
	for _, e := range evs {
		j.Events = append(j.Events, eventJSON{Type: string(e.Type), Actor: e.Actor, At: e.At, Detail: e.Detail})
	}
	return j, nil
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitSoftware
	}
	return exitOK
}

func printTicket(w io.Writer, t ticketJSON) {
	fmt.Fprintf(w, "#%d  %s\n", t.Number, t.Subject)
	fmt.Fprintf(w, "status:    %s\n", t.Status)
	fmt.Fprintf(w, "mailbox:   %s\n", t.Mailbox)
	fmt.Fprintf(w, "requester: %s\n", formatAddr(t.RequesterName, t.Requester))
	fmt.Fprintf(w, "assignee:  %s\n", dash(t.Assignee))
	fmt.Fprintf(w, "priority:  %s\n", t.Priority)
	if len(t.Tags) > 0 {
		fmt.Fprintf(w, "tags:      %s\n", strings.Join(t.Tags, ", "))
	}
	fmt.Fprintf(w, "created:   %s\nupdated:   %s\n", t.CreatedAt.Format(time.RFC3339), t.UpdatedAt.Format(time.RFC3339))
	for _, m := range t.Messages {
		kind := m.Author
		if m.Internal {
			kind += ", internal"
		}
		if m.Automatic {
			kind += ", automatic"
		}
		if m.Unverified {
			kind += ", unverified"
		}
		if m.Outsider {
			kind += ", from outside the ticket"
		}
		fmt.Fprintf(w, "\n--- %s  %s (%s)\n", m.CreatedAt.Format("2006-01-02 15:04"), m.From, kind)
		text := m.Text
		if m.CutFlagged {
			text = m.FullText
		}
		fmt.Fprintln(w, strings.TrimRight(text, "\n"))
		for _, a := range m.Attachments {
			fmt.Fprintf(w, "[attachment: %s, %d bytes, %s]\n", a.Name, a.Size, a.ContentType)
		}
	}
	fmt.Fprintln(w, "\ntimeline:")
	for _, e := range t.Events {
		line := fmt.Sprintf("  %s  %-16s %s", e.At.Format("2006-01-02 15:04:05"), e.Type, e.Actor)
		if e.Detail != "" {
			line += "  " + e.Detail
		}
		fmt.Fprintln(w, line)
	}
}

func formatAddr(name, addr string) string {
	if name == "" {
		return addr
	}
	return fmt.Sprintf("%s <%s>", name, addr)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statusNames are the English names --status also takes.
var statusNames = map[string]string{"new": "nuevo", "pending": "pendiente", "open": "abierto", "closed": "cerrado"}

// validStatus accepts "" (any), a status key or its English name (which it
// turns into the key), and says which names exist.
func validStatus(env *cmdEnv, cmd string, status *string) bool {
	s := strings.ToLower(strings.TrimSpace(*status))
	if key, ok := statusNames[s]; ok {
		s = key
	}
	if s == "" || ticketd.Status(s).Valid() {
		*status = s
		return true
	}
	fmt.Fprintf(env.stderr, "ticketd %s: unknown status %q (use nuevo, pendiente, abierto or cerrado, or new, pending, open, closed)\n", cmd, *status)
	return false
}

// messageToJSON is one message of the JSON contract.
func messageToJSON(cfg *config.Config, m *ticketd.Message) messageJSON {
	mj := messageJSON{
		ID: m.ID, Author: string(m.Author), From: m.FromAddr, FromName: m.FromName, MessageID: m.MessageID, Subject: m.Subject,
		Text: m.NewText, FullText: m.Text, CutFlagged: m.CutFlagged, Internal: m.Internal, Automatic: m.Automatic,
		Unverified: m.Unverified, Outsider: m.Outsider, ParseError: m.ParseError, CreatedAt: m.CreatedAt, Attachments: []attachmentJSON{},
	}
	if a := cfg.Agent(m.FromAddr); m.Author == ticketd.AuthorAgent && a != nil && a.Name != "" {
		mj.FromName = a.Name
	}
	for _, a := range m.Attachments {
		mj.Attachments = append(mj.Attachments, attachmentJSON{ID: a.ID, Name: a.Filename, Size: a.Size, ContentType: a.ContentType})
	}
	return mj
}
