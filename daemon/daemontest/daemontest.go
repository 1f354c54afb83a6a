// Package daemontest starts a real ticketd for end-to-end tests: SMTP on
// 127.0.0.1:0, a fake clock, and a real SMTP smarthost on loopback that
// captures every mail the outbox worker sends.
package daemontest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/replykeys"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// BaseConfig is a valid configuration for tests: one Spanish mailbox with
// two agents (ana, luis), data in dir. Callers adjust it before Start.
func BaseConfig(dir string) string {
	return fmt.Sprintf(`
[server]
hostname = "tickets.example.com"
data_dir = %q
base_url = "https://help.example.com"
language = "es"

[smtp]
listen = "127.0.0.1:0"
max_message_bytes = 5000000

[http]
listen = ""

[outbound]
transport = "dir"
dir = %q

[lifecycle]
pending_close_days = 30
reminder_days_before_close = 7

[[mailboxes]]
address = "soporte@example.com"
name = "Soporte Example"
language = "es"
agents = ["ana@example.com", "luis@example.com"]

[[agents]]
email = "ana@example.com"
name = "Ana Pérez"

[[agents]]
email = "luis@example.com"
name = "Luis García"
`, filepath.Join(dir, "data"), filepath.Join(dir, "outbox"))
}

// EngineVar names the environment variable that selects the store engine
// of end-to-end tests: "postgres" runs them on a private PostgreSQL server
// (store/postgres/pgtest, one database per test), anything else on SQLite.
// .ci/run runs them on both.
const EngineVar = "TICKETD_TEST_STORE"

// Engine is the store engine end-to-end tests run on.
func Engine() string {
	if os.Getenv(EngineVar) == config.DriverPostgres {
		return config.DriverPostgres
	}
	return config.DriverSQLite
}

// UseEngine points cfg's [store] at the engine the tests run on: with
// PostgreSQL, at a fresh database of the shared test server.
func UseEngine(t testing.TB, cfg *config.Config) {
	t.Helper()
	if Engine() != config.DriverPostgres {
		return
	}
	cfg.Store = config.Store{Driver: config.DriverPostgres, DSN: pgtest.Shared(t).NewDB(t)}
}

// Main runs a package's tests (from TestMain) and stops the shared
// PostgreSQL server afterwards, if they started one.
func Main(m *testing.M) int { return pgtest.Main(m) }

// Clock is a settable clock shared by every part of the daemon under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Env is one running daemon with its smarthost.
type Env struct {
	T      testing.TB
	Dir    string
	Config *config.Config
	D      *daemon.Daemon
	Clock  *Clock
	Sink   *Sink
}

// Start writes cfgText (BaseConfig if empty) to a temp dir, points outbound
// mail at a capturing smarthost, and starts the daemon. Everything stops
// at the end of the test.
func Start(t testing.TB, cfgText string) *Env {
	t.Helper()
	return StartLogged(t, cfgText, nil)
}

// StartLogged is Start with every log line, debug included, written to w
// (nil: warnings and errors go to the test's log).
func StartLogged(t testing.TB, cfgText string, w io.Writer) *Env {
	t.Helper()
	return start(t, cfgText, w, true, nil)
}

// StartOwnSmarthost is StartLogged, but outgoing mail goes where the
// config's [outbound] says (a test's own smarthost); Sink stays unused.
func StartOwnSmarthost(t testing.TB, cfgText string, w io.Writer) *Env {
	t.Helper()
	return start(t, cfgText, w, false, nil)
}

// StartStore is Start on the given store instead of the engine the
// environment selects (benchmarks that compare engines, several daemons
// on one database).
func StartStore(t testing.TB, cfgText string, st config.Store) *Env {
	t.Helper()
	return start(t, cfgText, nil, true, &st)
}

func start(t testing.TB, cfgText string, w io.Writer, sink bool, st *config.Store) *Env {
	t.Helper()
	dir := t.TempDir()
	if cfgText == "" {
		cfgText = BaseConfig(dir)
	}
	path := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if st != nil {
		cfg.Store = *st
	} else {
		UseEngine(t, cfg)
	}
	e := &Env{T: t, Dir: dir, Config: cfg, Clock: NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	e.Sink = NewSink(t)
	if sink {
		cfg.Outbound.Transport = "smtp"
		cfg.Outbound.SMTPAddr = e.Sink.Addr
		cfg.Outbound.SMTPStartTLS = "none"
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if w != nil {
		log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := daemon.Start(cfg, daemon.Options{Now: e.Clock.Now, Log: log, ManualOutbox: true, OutboxConcurrency: 1})
	if err != nil {
		t.Fatalf("daemon: %v", err)
	}
	e.D = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return e
}

// Send speaks real SMTP to the daemon and returns the server's error, if any.
func (e *Env) Send(from string, to []string, raw string) error {
	e.T.Helper()
	return SendSMTP(e.D.SMTPAddr.String(), from, to, raw)
}

// MustSend is Send that fails the test on error.
func (e *Env) MustSend(from string, to []string, raw string) {
	e.T.Helper()
	if err := e.Send(from, to, raw); err != nil {
		e.T.Fatalf("send: %v", err)
	}
}

// SendSMTP delivers one message over SMTP to addr.
func SendSMTP(addr, from string, to []string, raw string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Flush delivers every due outbox row now and returns the mails the
// smarthost received since the last Flush.
func (e *Env) Flush() []*Mail {
	e.T.Helper()
	if _, err := e.D.Worker.RunOnce(context.Background()); err != nil {
		e.T.Fatalf("outbox: %v", err)
	}
	return e.Sink.Take()
}

// Mail is one message the smarthost received.
type Mail struct {
	From  string
	Rcpts []string
	Data  []byte
}

// Sink is a real SMTP server that keeps what it is sent.
type Sink struct {
	Addr string
	mu   sync.Mutex
	got  []*Mail
	// Fail, when set, answers every DATA with this error (retry tests).
	Fail *smtp.SMTPError
	// conns are the client ports of the connections it was opened.
	conns map[string]bool
}

// NewSink starts a capturing SMTP server on loopback for the test.
func NewSink(t testing.TB) *Sink {
	s := &Sink{conns: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns[c.Conn().RemoteAddr().String()] = true
		s.mu.Unlock()
		return &sinkSession{s: s}, nil
	}))
	srv.Domain = "smarthost.test"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Take returns and forgets what was received.
func (s *Sink) Take() []*Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.got
	s.got = nil
	return out
}

// Connections counts the connections the sink was opened so far.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// SetFail makes the sink refuse (or, with nil, accept) every message.
func (s *Sink) SetFail(e *smtp.SMTPError) {
	s.mu.Lock()
	s.Fail = e
	s.mu.Unlock()
}

type sinkSession struct {
	s     *Sink
	from  string
	rcpts []string
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.Fail != nil {
		return ss.s.Fail
	}
	ss.s.got = append(ss.s.got, &Mail{From: ss.from, Rcpts: ss.rcpts, Data: b.Bytes()})
	return nil
}
func (ss *sinkSession) Reset()        { ss.from, ss.rcpts = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// To returns the mails addressed (envelope) to rcpt.
func To(mails []*Mail, rcpt string) []*Mail {
	var out []*Mail
	for _, m := range mails {
		for _, r := range m.Rcpts {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// RotateKey makes a new reply key for e's installation at e's clock, as
// `ticketd keys rotate` does: in data_dir on SQLite, in the database on
// PostgreSQL (where every process on it reads the keys).
func RotateKey(e *Env) {
	e.T.Helper()
	var err error
	if sh, ok := e.D.Store.(ticketd.Shared); ok {
		_, err = sh.RotateReplyKey(context.Background(), replykeys.New(), e.Clock.Now())
	} else {
		_, err = replykeys.Rotate(e.Config.Server.DataDir, e.Clock.Now())
	}
	if err != nil {
		e.T.Fatalf("rotate the reply key: %v", err)
	}
}
