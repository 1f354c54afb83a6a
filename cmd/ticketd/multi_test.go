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
		nd.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		text := daemontest.BaseConfig(nd.dir)
		text = strings.Replace(text, `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", nd.addr), 1)
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
		waitFor(t, nd.name+" SMTP listener", func() bool {
			conn, err := net.Dial("tcp", nd.addr)
			if err == nil {
				conn.Close()
			}
			return err == nil
		})
	}
	return c
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

// db opens a connection to the cluster's database.
func (c *cluster) db() *pgx.Conn {
	c.t.Helper()
	conn, err := pgx.Connect(context.Background(), c.dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
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

// sendAround delivers mail i to node i mod n, as a load balancer would;
// a node that fails the delivery is skipped for the next one, as an MTA
// tries its next MX. It returns how many mails were accepted.
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
			waitLong(t, "every acknowledgement and notification", 60*time.Second, func() bool { k.poll(); return len(k.all) >= 3*mails })
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
			if got := c.count(`SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`); got != 0 {
				t.Errorf("%d outbox rows not sent", got)
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
