package main

// Several `ticketd serve` processes on one PostgreSQL database, as behind
// two MX records or a TCP load balancer: each has its own data_dir and its
// own smarthost (a capturing SMTP server), and the database is all they share.

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// node is one serve process of a cluster.
type node struct {
	name string
	dir  string
	cfg  string // config file
	addr string // its SMTP listener
	sink *daemontest.Sink
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// cluster is n serve processes on one fresh database. hang names nodes
// whose smarthost accepts connections and never answers.
type cluster struct {
	t     *testing.T
	dsn   string
	nodes []*node
	conn  *pgx.Conn
}

func startCluster(t *testing.T, n int, hang ...int) *cluster {
	t.Helper()
	c := &cluster{t: t, dsn: pgtest.Shared(t).NewDB(t)}
	bin := ticketdBinary(t)
	for i := range n {
		nd := &node{name: fmt.Sprintf("node%d", i), dir: t.TempDir(), logs: &syncBuffer{}, done: make(chan struct{})}
		smarthost := ""
		if contains(hang, i) {
			smarthost = hangingSmarthost(t)
		} else {
			nd.sink = daemontest.NewSink(t)
			smarthost = nd.sink.Addr
		}
		// SMTP on port 0: each process says in its log which port it got.
		text := daemontest.BaseConfig(nd.dir)
		text = strings.Replace(text, `transport = "dir"`, fmt.Sprintf("transport = \"smtp\"\nsmtp_addr = %q\nsmtp_starttls = \"none\"", smarthost), 1)
		text += fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", c.dsn)
		nd.cfg = filepath.Join(nd.dir, "ticketd.toml")
		if err := os.WriteFile(nd.cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		nd.cmd = exec.Command(bin, "serve", "-config", nd.cfg)
		nd.cmd.Stderr = nd.logs
		if err := nd.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { nd.cmd.Wait(); close(nd.done) }()
		t.Cleanup(func() {
			nd.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-nd.done:
			case <-time.After(15 * time.Second):
				nd.cmd.Process.Kill()
				<-nd.done
			}
			if t.Failed() {
				t.Logf("%s log:\n%s", nd.name, nd.logs.String())
			}
		})
		c.nodes = append(c.nodes, nd)
	}
	for _, nd := range c.nodes {
		nd.addr = servingAddr(t, nd.name, nd.logs, nd.done)
	}
	return c
}

var servingRE = regexp.MustCompile(`msg="ticketd serving" smtp=(\S+)`)

// servingAddr waits for a serve process to log the SMTP address it
// listens on, and returns it.
func servingAddr(t *testing.T, name string, logs *syncBuffer, done <-chan struct{}) string {
	t.Helper()
	var addr string
	waitLong(t, name+" to listen", 60*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", name, logs.String())
		default:
		}
		if m := servingRE.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// hangingSmarthost accepts SMTP connections and never says a word, like a
// relay that stopped answering.
func hangingSmarthost(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// mails returns every mail the cluster's smarthosts received so far.
func (c *cluster) mails() []*daemontest.Mail {
	var out []*daemontest.Mail
	for _, nd := range c.nodes {
		if nd.sink != nil {
			got := nd.sink.Take()
			out = append(out, got...)
		}
	}
	return out
}

// collector keeps every mail the cluster sent, by kind and recipient.
type collector struct {
	c     *cluster
	all   []*daemontest.Mail
	byMID map[string]int
}

func (c *cluster) collector() *collector { return &collector{c: c, byMID: map[string]int{}} }

func (k *collector) poll() {
	for _, m := range k.c.mails() {
		k.all = append(k.all, m)
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			k.c.t.Fatalf("a sent mail does not parse: %v", err)
		}
		k.byMID[msg.Header.Get("Message-Id")]++
	}
}

// to returns the mails whose envelope recipient is rcpt.
func (k *collector) to(rcpt string) []*daemontest.Mail { return daemontest.To(k.all, rcpt) }

// doubled names a Message-ID that went out more than once.
func (k *collector) doubled() string {
	for id, n := range k.byMID {
		if n > 1 {
			return fmt.Sprintf("%s sent %d times", id, n)
		}
	}
	return ""
}

// db is the test's own connection to the cluster's database.
func (c *cluster) db() *pgx.Conn {
	c.t.Helper()
	if c.conn == nil {
		conn, err := pgx.Connect(context.Background(), c.dsn)
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { conn.Close(context.Background()) })
		c.conn = conn
	}
	return c.conn
}

func (c *cluster) count(q string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func customerMail(i int) (from, raw string) {
	from = fmt.Sprintf("cliente%d@cliente.example", i)
	raw = fmt.Sprintf("From: Cliente %d <%s>\r\nTo: soporte@example.com\r\nSubject: Consulta %d\r\nMessage-ID: <consulta%d@cliente.example>\r\n\r\nHola, tengo la consulta %d.\r\n", i, from, i, i, i)
	return from, raw
}

// sendAround delivers mails [from, to), mail i to node i mod n, as a load
// balancer would; when a node fails a delivery (or alive says it is gone)
// the next one is tried, as an MTA tries its next MX. A mail no node
// accepted fails the test.
func (c *cluster) sendAround(from, to int, alive func(int) bool) {
	c.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	sem := make(chan struct{}, 8)
	for i := from; i < to; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sender, raw := customerMail(i)
			var err error
			for try := range 2 * len(c.nodes) {
				k := (i + try) % len(c.nodes)
				if alive != nil && !alive(k) {
					continue
				}
				if err = daemontest.SendSMTP(c.nodes[k].addr, sender, []string{"soporte@example.com"}, raw); err == nil {
					return
				}
			}
			errs <- fmt.Errorf("mail %d accepted by no node: %v", i, err)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		c.t.Error(err)
	}
}

func TestClusterSplitsLoad(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d processes", n), func(t *testing.T) {
			c := startCluster(t, n)
			const mails = 45
			c.sendAround(0, mails, nil)
			k := c.collector()
			// One acknowledgement to each customer and a notification to each
			// of the two agents per ticket, from whichever process sent it.
			// (A smarthost has a mail a moment before its sender records it sent.)
			waitLong(t, "every acknowledgement and notification", 60*time.Second, func() bool {
				k.poll()
				return len(k.all) >= 3*mails && c.count(`SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`) == 0
			})
			if d := k.doubled(); d != "" {
				t.Fatal(d)
			}
			for i := range mails {
				sender, _ := customerMail(i)
				if got := len(k.to(sender)); got != 1 {
					t.Errorf("%s got %d acknowledgements, want 1", sender, got)
				}
			}
			if got := c.count(`SELECT COUNT(DISTINCT number) FROM tickets`); got != mails {
				t.Errorf("%d distinct ticket numbers, want %d", got, mails)
			}
			if got := c.count(`SELECT COUNT(*) FROM outbox`); got != len(k.all) {
				t.Errorf("%d outbox rows, %d mails sent", got, len(k.all))
			}
			// Every process took part, and sent mail.
			for _, nd := range c.nodes {
				if !strings.Contains(nd.logs.String(), "mail delivered") {
					t.Errorf("%s took no mail", nd.name)
				}
				if !strings.Contains(nd.logs.String(), "mail sent") {
					t.Errorf("%s sent no mail", nd.name)
				}
			}
		})
	}
}

// waitLong polls a condition other processes make true, for up to limit.
func waitLong(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// header reads one header field of a sent mail.
func header(t *testing.T, m *daemontest.Mail, key string) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header.Get(key)
}

func addrOf(t *testing.T, field string) string {
	t.Helper()
	a, err := mail.ParseAddress(field)
	if err != nil {
		t.Fatalf("address %q: %v", field, err)
	}
	return a.Address
}

// answer has ana reply to the notification she got, through node k.
func (c *cluster) answer(k *collector, nd *node, note *daemontest.Mail, text string) {
	c.t.Helper()
	to := addrOf(c.t, header(c.t, note, "Reply-To"))
	raw := fmt.Sprintf("From: Ana Pérez <ana@example.com>\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: %s\r\n\r\n%s\r\n",
		to, header(c.t, note, "Subject"), header(c.t, note, "Message-Id"), text)
	if err := daemontest.SendSMTP(nd.addr, "ana@example.com", []string{to}, raw); err != nil {
		c.t.Fatalf("agent answer through %s: %v", nd.name, err)
	}
}

// An agent answers through another process than the one that took the
// customer's mail, and the customer's reply to that answer goes through a
// third: every process issues and accepts the same reply addresses.
func TestClusterAgentAnswersThroughAnotherProcess(t *testing.T) {
	c := startCluster(t, 3)
	k := c.collector()
	if err := daemontest.SendSMTP(c.nodes[0].addr, "carla@cliente.example", []string{"soporte@example.com"},
		"From: Carla Ruiz <carla@cliente.example>\r\nTo: soporte@example.com\r\nSubject: No puedo entrar\r\nMessage-ID: <c1@cliente.example>\r\n\r\nHola, no puedo entrar.\r\n"); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "the notification to ana", 30*time.Second, func() bool { k.poll(); return len(k.to("ana@example.com")) == 1 })
	c.answer(k, c.nodes[1], k.to("ana@example.com")[0], "Hola Carla, ya está restablecida.")
	waitLong(t, "the answer to carla", 30*time.Second, func() bool { k.poll(); return len(k.to("carla@cliente.example")) == 2 })
	relay := k.to("carla@cliente.example")[1]
	if !strings.Contains(string(relay.Data), "ya est") || !strings.Contains(header(t, relay, "From"), "soporte@example.com") {
		t.Fatalf("relayed answer:\n%s", relay.Data)
	}
	show := func() string {
		r := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", c.nodes[2].cfg)
		if r.code != 0 {
			t.Fatalf("tickets show: %d %s", r.code, r.stderr)
		}
		return r.stdout
	}
	if out := show(); !strings.Contains(out, `"status": "pendiente"`) || !strings.Contains(out, `"assignee": "ana@example.com"`) {
		t.Fatalf("after the agent's answer through node1:\n%s", out)
	}
	// Carla answers the relayed mail through node2; ana, the assignee, hears of it.
	to := addrOf(t, header(t, relay, "Reply-To"))
	if err := daemontest.SendSMTP(c.nodes[2].addr, "carla@cliente.example", []string{to},
		fmt.Sprintf("From: Carla Ruiz <carla@cliente.example>\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: %s\r\n\r\nSigue sin funcionar.\r\n",
			to, header(t, relay, "Subject"), header(t, relay, "Message-Id"))); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "the reopened notice to ana", 30*time.Second, func() bool { k.poll(); return len(k.to("ana@example.com")) == 2 })
	if out := show(); !strings.Contains(out, `"status": "abierto"`) || strings.Count(out, `"author": "customer"`) != 2 {
		t.Fatalf("after carla's reply through node2:\n%s", out)
	}
	// Luis hears of the new ticket, and in one line that Ana answered it;
	// Carla's reply goes to Ana alone.
	if len(k.to("luis@example.com")) != 2 {
		t.Errorf("luis got %d mails, want the first notification and the colleague line", len(k.to("luis@example.com")))
	}
	if d := k.doubled(); d != "" {
		t.Fatal(d)
	}
}

// Two sweeps at the same moment, from two processes' configs, remind each
// pending ticket once.
func TestClusterConcurrentSweeps(t *testing.T) {
	c := startCluster(t, 2)
	k := c.collector()
	const tickets = 6
	c.sendAround(0, tickets, nil)
	waitLong(t, "the notifications", 30*time.Second, func() bool { k.poll(); return len(k.to("ana@example.com")) == tickets })
	for i, note := range k.to("ana@example.com") {
		c.answer(k, c.nodes[i%2], note, "Hola, ¿le funciona ya?")
	}
	waitLong(t, "the answers", 30*time.Second, func() bool {
		return c.count(`SELECT COUNT(*) FROM tickets WHERE status = 'pendiente'`) == tickets
	})
	// Reminders are due 23 days after the answer (30-day close, 7 days before).
	when := time.Now().UTC().Add(24 * 24 * time.Hour).Format(time.RFC3339)
	type out struct {
		stdout string
		err    error
	}
	outs := make([]out, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(ticketdBinary(t), "sweep", "--now", when, "-config", c.nodes[i].cfg)
			b, err := cmd.Output()
			outs[i] = out{string(b), err}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i, o := range outs {
		if o.err != nil {
			t.Fatalf("sweep %d: %v", i, o.err)
		}
		for _, line := range strings.Split(strings.TrimSpace(o.stdout), "\n") {
			if strings.HasSuffix(line, " reminder") {
				seen[line]++
			}
		}
	}
	if len(seen) != tickets {
		t.Fatalf("the two sweeps reminded %d tickets, want %d:\n%+v", len(seen), tickets, outs)
	}
	for line, n := range seen {
		if n != 1 {
			t.Errorf("%s printed by %d sweeps", line, n)
		}
	}
	if got := c.count(`SELECT COUNT(*) FROM events WHERE type = 'reminder'`); got != tickets {
		t.Errorf("%d reminder events, want %d", got, tickets)
	}
	// The reminder mails (queued due at once) go out once each.
	waitLong(t, "the reminders, and every other mail", 30*time.Second, func() bool {
		return c.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'reminder' AND state = 'sent'`) == tickets &&
			c.count(`SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`) == 0
	})
	k.poll()
	for i := range tickets {
		sender, _ := customerMail(i)
		if got := len(k.to(sender)); got != 3 { // acknowledgement, answer, reminder
			t.Errorf("%s got %d mails, want 3", sender, got)
		}
	}
	if d := k.doubled(); d != "" {
		t.Fatal(d)
	}
}

// A process is killed (SIGKILL) under load while it holds outgoing mail,
// its smarthost hanging: every mail another server was told 250 for has
// its ticket, every outgoing mail goes out exactly once, and what the dead
// process held goes out within about a minute (a lease of 30 s).
func TestClusterSurvivesKill(t *testing.T) {
	c := startCluster(t, 3, 2)
	victim := c.nodes[2]
	k := c.collector()
	// Mail the victim takes: its worker claims the rows and hangs on its smarthost.
	const held = 4
	for i := range held {
		sender, raw := customerMail(i)
		if err := daemontest.SendSMTP(victim.addr, sender, []string{"soporte@example.com"}, raw); err != nil {
			t.Fatal(err)
		}
	}
	// The others may take some of the victim's rows before it claims them;
	// wait until what is left is claimed (leased) and not sent.
	var claimed int
	waitLong(t, "the victim to hold claimed rows", 30*time.Second, func() bool {
		k.poll()
		queued := c.count(`SELECT COUNT(*) FROM outbox WHERE state = 'queued'`)
		claimed = c.count(`SELECT COUNT(*) FROM outbox WHERE state = 'queued' AND next_at > now()`)
		return queued > 0 && queued == claimed && len(k.all)+queued == 3*held
	})
	t.Logf("the victim holds %d outgoing mails", claimed)
	// Load on every process; the victim dies in the middle of it.
	var dead sync.Map
	alive := func(i int) bool { _, d := dead.Load(i); return !d }
	const total = 60
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		c.sendAround(held, total, alive)
	}()
	waitLong(t, "load on the victim", 30*time.Second, func() bool {
		return c.count(`SELECT COUNT(*) FROM tickets`) >= held+total/4
	})
	dead.Store(2, true)
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	killed := time.Now()
	<-loadDone
	allOut := func() bool {
		k.poll()
		return c.count(`SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`) == 0 && len(k.all) >= c.count(`SELECT COUNT(*) FROM outbox`)
	}
	for start := time.Now(); !allOut(); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 120*time.Second {
			rows, _ := c.db().Query(context.Background(), `SELECT id, kind, rcpt, state, next_at, attempts, last_error FROM outbox WHERE state <> 'sent' ORDER BY id`)
			var left []string
			for rows.Next() {
				v, _ := rows.Values()
				left = append(left, fmt.Sprint(v))
			}
			rows.Close()
			t.Fatalf("2 minutes after the kill: %d mails sent for %d outbox rows (%s); not sent: %v", len(k.all), c.count(`SELECT COUNT(*) FROM outbox`), k.doubled(), left)
		}
	}
	t.Logf("all mail out %v after the kill", time.Since(killed).Round(time.Second))
	if d := k.doubled(); d != "" {
		t.Fatal(d)
	}
	if got := c.count(`SELECT COUNT(*) FROM tickets`); got != total {
		t.Errorf("%d tickets, want %d (one per customer mail)", got, total)
	}
	for i := range total {
		sender, _ := customerMail(i)
		if got := len(k.to(sender)); got != 1 {
			t.Errorf("%s got %d acknowledgements, want 1", sender, got)
		}
	}
}
