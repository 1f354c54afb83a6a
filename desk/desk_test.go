package desk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/desk"
	"github.com/ticketd/ticketd/threading"
)

const (
	ana   = "ana@example.com"
	luis  = "luis@example.com"
	carla = "carla@cliente.example"
	pedro = "pedro@cliente.example"
)

// deskEnv is a running daemon with the desk served beside it.
type deskEnv struct {
	*daemontest.Env
	t      *testing.T
	srv    *desk.Server
	addr   string
	seq    int
	mu     sync.Mutex
	sleeps []time.Duration
}

// withVentas adds a second mailbox that only Luis serves.
func withVentas(dir string) string {
	return strings.Replace(daemontest.BaseConfig(dir), "[[agents]]", `[[mailboxes]]
address = "ventas@example.com"
name = "Ventas Example"
language = "en"
agents = ["luis@example.com"]

[[agents]]`, 1)
}

func startDesk(t *testing.T, cfg string) *deskEnv {
	t.Helper()
	e := &deskEnv{Env: daemontest.Start(t, cfg), t: t}
	e.serve()
	for _, a := range []string{ana, luis} {
		if err := desk.SetPassword(context.Background(), e.D.Store, e.D.Config(), a, "secreto-"+strings.Split(a, "@")[0], e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *deskEnv) serve() {
	e.t.Helper()
	e.srv = desk.New(desk.Options{
		Store: e.D.Store, Config: e.D.Config, Key: e.D.Desk.Key, Now: e.Clock.Now,
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		PollInterval: time.Hour, // changes in these tests come through Notify
		Wake:         e.D.Worker.Wake,
		Sleep: func(d time.Duration) {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			e.mu.Unlock()
		},
	})
	e.D.Parts.OnCommit(e.srv.Notify)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.addr = l.Addr().String()
	go e.srv.Serve(l)
	srv := e.srv
	e.t.Cleanup(func() { srv.Close() })
}

// login connects as agent with her password.
func (e *deskEnv) login(agent string, opts ...*imapclient.Options) *imapclient.Client {
	e.t.Helper()
	var opt *imapclient.Options
	if len(opts) > 0 {
		opt = opts[0]
	}
	c, err := imapclient.DialInsecure(e.addr, opt)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(agent, "secreto-"+strings.Split(agent, "@")[0]).Wait(); err != nil {
		e.t.Fatalf("login %s: %v", agent, err)
	}
	return c
}

func (e *deskEnv) msgid() string {
	e.seq++
	return fmt.Sprintf("<d%d@cliente.example>", e.seq)
}

// open has a customer write to a mailbox and returns the ticket's number.
func (e *deskEnv) open(from, name, subject, text string, mailbox ...string) int64 {
	e.t.Helper()
	mb := "soporte@example.com"
	if len(mailbox) > 0 {
		mb = mailbox[0]
	}
	e.MustSend(from, []string{mb}, strings.Join([]string{
		"From: " + name + " <" + from + ">", "To: " + mb, "Subject: " + subject, "Message-ID: " + e.msgid(),
		"Content-Type: text/plain; charset=utf-8", "", text, ""}, "\r\n"))
	e.Flush()
	var n int64
	e.view(func(tx ticketd.Tx) error {
		tks, err := tx.ListTickets(ticketd.TicketFilter{Limit: 1})
		if err == nil {
			n = tks[0].Number
		}
		return err
	})
	return n
}

// reply has an agent answer a ticket from her mail client.
func (e *deskEnv) reply(n int64, agent, text string) {
	e.t.Helper()
	tk := e.ticket(n)
	to := threading.AgentAddress(tk.Mailbox, tk.Token, threading.AgentTag(e.D.Desk.Key, tk.Token, agent))
	e.MustSend(agent, []string{to}, strings.Join([]string{
		"From: " + agent, "To: " + to, "Subject: Re: [#" + fmt.Sprint(n) + "] " + tk.Subject, "Message-ID: " + e.msgid(),
		"Content-Type: text/plain; charset=utf-8", "", text, ""}, "\r\n"))
	e.Flush()
}

func (e *deskEnv) view(fn func(tx ticketd.Tx) error) {
	e.t.Helper()
	if err := e.D.Store.View(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *deskEnv) ticket(n int64) *ticketd.Ticket {
	e.t.Helper()
	var tk *ticketd.Ticket
	e.view(func(tx ticketd.Tx) (err error) { tk, err = tx.TicketByNumber(n); return })
	return tk
}

func (e *deskEnv) events(n int64) []ticketd.Event {
	e.t.Helper()
	var evs []ticketd.Event
	e.view(func(tx ticketd.Tx) (err error) { evs, err = tx.Events(n); return })
	return evs
}

// msg is a desk message as a client reads it.
type msg struct {
	uid    imap.UID
	seen   bool
	header mail.Header
	body   string
}

// lastValidity is the UIDVALIDITY of the folder selected last.
var lastValidity uint32

// folder selects name and reads every message in it without marking it seen.
func folder(t *testing.T, c *imapclient.Client, name string) []msg {
	t.Helper()
	data, err := c.Select(name, nil).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", name, err)
	}
	lastValidity = data.UIDValidity
	// The SELECT's own answer says how many there are: the client's
	// mailbox state may still be settling after an earlier MOVE.
	if data.NumMessages == 0 {
		return nil
	}
	return fetchAll(t, c)
}

func fetchAll(t *testing.T, c *imapclient.Client) []msg {
	t.Helper()
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	var out []msg
	for _, b := range bufs {
		m, err := mail.ReadMessage(bytes.NewReader(b.FindBodySection(section)))
		if err != nil {
			t.Fatalf("uid %d: %v", b.UID, err)
		}
		body, _ := io.ReadAll(m.Body)
		out = append(out, msg{uid: b.UID, seen: slices.Contains(b.Flags, imap.FlagSeen), header: m.Header, body: decodeQP(t, string(body))})
	}
	return out
}

func decodeQP(t *testing.T, s string) string {
	t.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
	if err != nil {
		t.Fatalf("quoted-printable: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func (m msg) get(key string) string {
	v, err := new(mime.WordDecoder).DecodeHeader(m.header.Get(key))
	if err != nil {
		return m.header.Get(key)
	}
	return v
}

func subjects(ms []msg) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.get("Subject"))
	}
	return out
}
