package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
)

func init() {
	commands["customers"] = command{"GDPR requests: customers export ADDR | forget ADDR --yes", func(env *cmdEnv, args []string) int {
		return runGroup(env, "customers", customerSubcommands, args)
	}}
	usageLines["customers export"] = "ticketd customers export ADDR [-config FILE]\n  prints as JSON everything stored about ADDR"
	usageLines["customers forget"] = "ticketd customers forget ADDR --yes [-config FILE]\n  erases ADDR's mails, texts, attachments, names and address; its tickets stay as anonymous records"
}

var customerSubcommands = map[string]func(env *cmdEnv, args []string) int{
	"export": runCustomersExport,
	"forget": runCustomersForget,
}

// customerAddress is the one ADDR argument.
func customerAddress(env *cmdEnv, cmd string, pos []string) (string, bool) {
	if len(pos) != 1 || !strings.Contains(pos[0], "@") {
		fmt.Fprintf(env.stderr, "usage: %s\n", strings.SplitN(usageLines[cmd], "\n", 2)[0])
		return "", false
	}
	return strings.ToLower(strings.TrimSpace(pos[0])), true
}

// customerExportJSON is what `customers export` prints.
type customerExportJSON struct {
	Address    string           `json:"address"`
	ExportedAt time.Time        `json:"exported_at"`
	Names      []string         `json:"names"`
	Tickets    []ticketJSON     `json:"tickets"`  // the tickets the address opened, with every message and event
	Messages   []customerMsg    `json:"messages"` // every message the address wrote, on any ticket
	RawMails   []customerRaw    `json:"raw_mails"`
	MailsSent  []customerOutbox `json:"mails_sent"`
}

type customerMsg struct {
	Ticket int64 `json:"ticket"`
	messageJSON
}

type customerRaw struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
}

type customerOutbox struct {
	Ticket    int64     `json:"ticket"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
}

func runCustomersExport(env *cmdEnv, args []string) int {
	f := newFlags(env, "customers export")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	addr, ok := customerAddress(env, "customers export", pos)
	if !ok {
		return exitUsage
	}
	st, cfg, code := openStore(f)
	if st == nil {
		return code
	}
	defer st.Close()
	out := customerExportJSON{Address: addr, ExportedAt: time.Now().UTC(), Names: []string{}, Tickets: []ticketJSON{},
		Messages: []customerMsg{}, RawMails: []customerRaw{}, MailsSent: []customerOutbox{}}
	err := st.View(context.Background(), func(tx ticketd.Tx) error {
		d, err := tx.CustomerData(addr)
		if err != nil {
			return err
		}
		out.Names = append(out.Names, d.Names...)
		for _, tk := range d.Tickets {
			j, err := loadTicketJSON(tx, cfg, tk, true)
			if err != nil {
				return err
			}
			out.Tickets = append(out.Tickets, j)
		}
		for _, m := range d.Messages {
			out.Messages = append(out.Messages, customerMsg{Ticket: m.Ticket, messageJSON: messageToJSON(cfg, m)})
		}
		for _, r := range d.RawMails {
			out.RawMails = append(out.RawMails, customerRaw{ID: r.ID, ReceivedAt: r.ReceivedAt, Source: r.Source, Size: r.Size, SHA256: r.SHA256})
		}
		for _, o := range d.Sent {
			out.MailsSent = append(out.MailsSent, customerOutbox{Ticket: o.Ticket, Kind: string(o.Kind), State: string(o.State), CreatedAt: o.CreatedAt, SentAt: o.SentAt})
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitTempFail
	}
	return printJSON(env.stdout, out)
}

func runCustomersForget(env *cmdEnv, args []string) int {
	f := newFlags(env, "customers forget")
	yes := f.Bool("yes", false, "really erase (there is no undo; take a backup first if in doubt)")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	addr, ok := customerAddress(env, "customers forget", pos)
	if !ok {
		return exitUsage
	}
	if !*yes {
		fmt.Fprintf(env.stderr, "ticketd customers forget: this erases everything stored about %s and cannot be undone; add --yes to do it\n", addr)
		return exitUsage
	}
	st, cfg, code := openStore(f)
	if st == nil {
		return code
	}
	if cfg.Agent(addr) != nil || cfg.Mailbox(addr) != nil {
		st.Close()
		fmt.Fprintf(env.stderr, "ticketd customers forget: %s is a configured agent or mailbox, not a customer; remove it from the config first\n", addr)
		return exitUsage
	}
	fg, ok := st.(ticketd.Forgetter)
	if !ok {
		st.Close()
		fmt.Fprintf(env.stderr, "ticketd customers forget: this store cannot erase an address\n")
		return exitFailure
	}
	rep, err := fg.Forget(context.Background(), addr)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd customers forget: %v\n", err)
		return exitTempFail
	}
	files, err := forgetOutboundFiles(cfg, addr, rep.Tokens)
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd customers forget: outbound files: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(env.stdout, "forgot %s: %d tickets kept as anonymous records, %d messages blanked, %d raw mails, %d attachments, %d outgoing mails erased",
		addr, rep.Tickets, rep.Messages, rep.RawMails, rep.Attachments, rep.Outgoing)
	if files > 0 {
		fmt.Fprintf(env.stdout, ", %d .eml files removed from %s", files, cfg.Outbound.Dir)
	}
	fmt.Fprintln(env.stdout)
	if rep.OtherMentions > 0 {
		fmt.Fprintf(env.stdout, "note: %d mails on other people's tickets still mention %s (kept: they are their mail)\n", rep.OtherMentions, addr)
	}
	return exitOK
}

// forgetOutboundFiles removes the .eml files the dir transport wrote that
// are to, from or about the address (its tickets' tokens).
func forgetOutboundFiles(cfg *config.Config, addr string, tokens []string) (int, error) {
	if cfg.Outbound.Transport != "dir" {
		return 0, nil
	}
	entries, err := os.ReadDir(cfg.Outbound.Dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	needles := [][]byte{[]byte(addr)}
	for _, t := range tokens {
		needles = append(needles, []byte(t))
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		path := filepath.Join(cfg.Outbound.Dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return n, err
		}
		lower := bytes.ToLower(b)
		for _, nd := range needles {
			if bytes.Contains(lower, nd) {
				if err := os.Remove(path); err != nil {
					return n, err
				}
				n++
				break
			}
		}
	}
	return n, nil
}
