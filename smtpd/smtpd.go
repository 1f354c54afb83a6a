// Package smtpd is ticketd's SMTP and LMTP server: sessions, recipient
// checks and limits on top of go-smtp. Every accepted mail goes through
// intake, and 250 is said only after intake committed it.
package smtpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd/intake"
)

// Deliverer is what a session needs of intake.
type Deliverer interface {
	CheckRecipient(addr string) error
	Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error)
}

// Options configure a Server.
type Options struct {
	Hostname        string
	MaxMessageBytes int64
	MaxRecipients   int // default 100
	// TLSConfig, when set, offers STARTTLS.
	TLSConfig *tls.Config
	// MemoryBudget bounds the bytes of mail all sessions hold in memory
	// before commit (default: four maximum-size mails, at least 256 MiB).
	MemoryBudget int64
	Log          *slog.Logger
	// OnSession, when set, hears +1 when a session starts and -1 when it
	// ends (the sessions gauge of the metrics).
	OnSession func(delta int)
}

// Server serves SMTP or LMTP on listeners it is given.
type Server struct {
	desk Deliverer
	opt  Options
	log  *slog.Logger

	mu       sync.Mutex
	servers  []*smtp.Server
	sessions map[*session]struct{}
	conns    map[net.Conn]struct{} // every open connection, greeted or not
	draining atomic.Bool
	held     atomic.Int64 // bytes of mail read and not yet committed
}

// New returns a Server that delivers through desk.
func New(desk Deliverer, opt Options) *Server {
	if opt.MaxRecipients == 0 {
		opt.MaxRecipients = 100
	}
	if opt.MemoryBudget == 0 {
		opt.MemoryBudget = max(4*opt.MaxMessageBytes, 256<<20)
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Server{desk: desk, opt: opt, log: opt.Log, sessions: map[*session]struct{}{}, conns: map[net.Conn]struct{}{}}
}

// SetMaxMessageBytes changes the size limit for new sessions (SIGHUP).
func (s *Server) SetMaxMessageBytes(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.MaxMessageBytes = n
	for _, srv := range s.servers {
		srv.MaxMessageBytes = n
	}
}

// Serve accepts connections on l until Shutdown. lmtp selects LMTP (RFC
// 2033), for a local MTA handing mail over on a Unix socket or TCP port.
func (s *Server) Serve(l net.Listener, lmtp bool) error {
	srv := smtp.NewServer(s)
	srv.Domain = s.opt.Hostname
	srv.LMTP = lmtp
	srv.MaxMessageBytes = s.opt.MaxMessageBytes
	srv.MaxRecipients = s.opt.MaxRecipients
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = 5 * time.Minute
	srv.ErrorLog = errorLog{s.log}
	srv.TLSConfig = s.opt.TLSConfig
	// Customers with internationalized addresses (josé@…) must reach us;
	// intake keeps addresses as UTF-8 strings throughout.
	srv.EnableSMTPUTF8 = true
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		l.Close()
		return smtp.ErrServerClosed
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	err := srv.Serve(trackingListener{l, s})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, lets transactions in flight finish, and closes
// idle connections (relays keep cached connections open for minutes).
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.Lock()
	servers := append([]*smtp.Server(nil), s.servers...)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, srv := range servers {
			wg.Add(1)
			go func() { defer wg.Done(); srv.Shutdown(ctx) }()
		}
		wg.Wait()
		close(done)
	}()
	// Idle sessions are closed now; busy ones close themselves after their
	// reply is written (see session.Reset).
	s.closeIdle()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, srv := range servers {
			srv.Close()
		}
		return ctx.Err()
	}
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	if s.draining.Load() {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
	}
	ss := &session{srv: s, conn: c, source: "smtp"}
	if c.Server().LMTP {
		ss.source = "lmtp"
	}
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	if s.opt.OnSession != nil {
		s.opt.OnSession(+1)
	}
	return ss, nil
}

// Replies, built on purpose: they tell the sender what to do and never
// carry internal error text.
var (
	errUnknownRcpt = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here; this server accepts mail only for its help desk addresses"}
	errNotMail     = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message has no header section; not a mail message"}
	errTemporary   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, please try again later"}
	errTooBig      = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big for this help desk"}
	errBusy        = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Too much mail in progress, please try again later"}
	errShutdown    = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
)

type session struct {
	srv    *Server
	conn   *smtp.Conn
	source string

	mu    sync.Mutex
	busy  bool // between MAIL and the reply to DATA
	from  string
	rcpts []string
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.srv.draining.Load() {
		return errShutdown
	}
	ss.mu.Lock()
	ss.busy = true
	ss.from = from
	ss.mu.Unlock()
	if opts != nil && opts.Size > 0 && ss.srv.opt.MaxMessageBytes > 0 && opts.Size > ss.srv.opt.MaxMessageBytes {
		return errTooBig
	}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.srv.desk.CheckRecipient(to); err != nil {
		ss.srv.log.Info("recipient refused", "rcpt", to, "remote", ss.conn.Conn().RemoteAddr().String())
		return errUnknownRcpt
	}
	ss.mu.Lock()
	ss.rcpts = append(ss.rcpts, to)
	ss.mu.Unlock()
	return nil
}

func (ss *session) Data(r io.Reader) error {
	// Mail is held in memory until it is committed; all sessions together
	// stay within the budget, and a session that would exceed it is asked
	// to come back later instead.
	br := &budgetReader{r: r, srv: ss.srv}
	defer func() { ss.srv.held.Add(-br.held) }()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(br); err != nil {
		switch {
		case errors.Is(err, errOverBudget):
			// Give back what this mail held before reading the rest away,
			// so that the sessions still reading can finish theirs.
			ss.srv.held.Add(-br.held)
			br.held = 0
			io.Copy(io.Discard, r)
			ss.srv.log.Warn("mail deferred: memory budget for mail in flight is used up", "budget", ss.srv.opt.MemoryBudget)
			return errBusy
		case errors.Is(err, smtp.ErrDataTooLarge):
			return errTooBig
		}
		return err
	}
	ss.mu.Lock()
	env := intake.Envelope{Source: ss.source, From: ss.from, Rcpts: append([]string(nil), ss.rcpts...)}
	ss.mu.Unlock()
	// The commit must finish even if the client goes away: a mail that is
	// durable but unacknowledged is only retried, never lost.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := ss.srv.desk.Deliver(ctx, env, buf.Bytes())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, intake.ErrNotMail):
		return errNotMail
	case errors.Is(err, intake.ErrUnknownRecipient):
		return errUnknownRcpt
	default:
		ss.srv.log.Error("delivery failed, answered 451", "source", ss.source, "err", err)
		return errTemporary
	}
}

// LMTPData gives every recipient the same status: intake commits a mail
// for all its recipients in one transaction.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	err := ss.Data(r)
	ss.mu.Lock()
	rcpts := append([]string(nil), ss.rcpts...)
	ss.mu.Unlock()
	for _, rc := range rcpts {
		status.SetStatus(rc, err)
	}
	return nil
}

func (ss *session) Reset() {
	ss.mu.Lock()
	ss.busy = false
	ss.from = ""
	ss.rcpts = nil
	ss.mu.Unlock()
	if ss.srv.draining.Load() {
		// Reset runs after the reply to DATA was written; the client has
		// its answer, so the connection can go.
		go ss.conn.Close()
	}
}

func (ss *session) Logout() error {
	ss.srv.mu.Lock()
	delete(ss.srv.sessions, ss)
	ss.srv.mu.Unlock()
	if ss.srv.opt.OnSession != nil {
		ss.srv.opt.OnSession(-1)
	}
	return nil
}

// closeIdle closes every connection without a transaction in progress,
// including those that never said HELO.
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := map[net.Conn]bool{}
	for ss := range s.sessions {
		ss.mu.Lock()
		if ss.busy {
			busy[ss.conn.Conn()] = true
		}
		ss.mu.Unlock()
	}
	for c := range s.conns {
		if !busy[c] {
			go c.Close()
		}
	}
}

// trackingListener records accepted connections so that shutdown can close
// the idle ones.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.l.Debug("smtp", "msg", fmt.Sprintf(format, v...))
}
func (e errorLog) Println(v ...any) { e.l.Debug("smtp", "msg", fmt.Sprint(v...)) }

var errOverBudget = errors.New("smtpd: memory budget exceeded")

// budgetReader reserves each byte it reads from the server's budget.
type budgetReader struct {
	r    io.Reader
	srv  *Server
	held int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		if b.srv.held.Add(int64(n)) > b.srv.opt.MemoryBudget {
			b.srv.held.Add(-int64(n))
			return 0, errOverBudget
		}
		b.held += int64(n)
	}
	return n, err
}
