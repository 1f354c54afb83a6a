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
	// ReadTimeout is the longest silence allowed between two reads of a
	// message, and the longest a session may go without an accepted
	// command (default 5 minutes). DataTimeout bounds one whole message
	// transfer (default 30 minutes).
	ReadTimeout time.Duration
	DataTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP bound open connections
	// (defaults 200 and 20); beyond them a client hears 421 4.7.0.
	MaxConnections      int
	MaxConnectionsPerIP int
	// MaxFailures is how many refused commands (unknown recipients, say)
	// a session may send before it is disconnected (default 20).
	MaxFailures int
	// Postmaster maps a postmaster address (RFC 5321 §4.5.1: postmaster at
	// any of our domains) to the mailbox that takes its mail; nil: none.
	Postmaster func(addr string) (mailbox string, ok bool)
	Log        *slog.Logger
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
	conns    map[*conn]struct{} // every open connection, greeted or not
	perIP    map[string]int     // open TCP connections per remote IP
	draining atomic.Bool
	held     atomic.Int64 // bytes of mail read and not yet committed
	inData   atomic.Int64 // sessions between DATA and their answer
	lastData atomic.Int64 // when the last of them answered, Unix nanoseconds
}

// Receiving reports whether a mail is being received, or one was answered
// within the last millisecond (a relay's next MAIL follows at once): the
// outbox gives way to intake while it is.
func (s *Server) Receiving() bool {
	return s.inData.Load() > 0 || time.Now().UnixNano()-s.lastData.Load() < int64(time.Millisecond)
}

// New returns a Server that delivers through desk.
func New(desk Deliverer, opt Options) *Server {
	if opt.MaxRecipients == 0 {
		opt.MaxRecipients = 100
	}
	if opt.MemoryBudget == 0 {
		opt.MemoryBudget = max(4*opt.MaxMessageBytes, 256<<20)
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 5 * time.Minute
	}
	if opt.DataTimeout == 0 {
		opt.DataTimeout = 30 * time.Minute
	}
	if opt.MaxConnections == 0 {
		opt.MaxConnections = 200
	}
	if opt.MaxConnectionsPerIP == 0 {
		opt.MaxConnectionsPerIP = 20
	}
	if opt.MaxFailures == 0 {
		opt.MaxFailures = 20
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Server{desk: desk, opt: opt, log: opt.Log, sessions: map[*session]struct{}{}, conns: map[*conn]struct{}{}, perIP: map[string]int{}}
}

// SetMaxMessageBytes changes the size limit for new sessions (SIGHUP).
func (s *Server) SetMaxMessageBytes(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.MaxMessageBytes = n
	for _, srv := range s.servers {
		srv.MaxMessageBytes = libLimit(n)
	}
}

// Serve accepts connections on l until Shutdown. lmtp selects LMTP (RFC
// 2033), for a local MTA handing mail over on a Unix socket or TCP port.
func (s *Server) Serve(l net.Listener, lmtp bool) error {
	srv := smtp.NewServer(s)
	srv.Domain = s.opt.Hostname
	srv.LMTP = lmtp
	srv.MaxMessageBytes = libLimit(s.opt.MaxMessageBytes)
	srv.MaxRecipients = s.opt.MaxRecipients
	srv.ReadTimeout = s.opt.ReadTimeout
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
	err := srv.Serve(limitListener{l, s, lmtp})
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
	ss := &session{srv: s, conn: c, nc: connOf(c.Conn()), source: "smtp"}
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
	errLineTooLong = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message has a line longer than 2000 bytes (RFC 5321 allows 1000); nothing was kept"}
	errConnLost    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Connection problem while reading the message; nothing was kept, please send it again"}
	errTooManyErrs = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many refused commands, closing connection"}
)

type session struct {
	srv    *Server
	conn   *smtp.Conn
	nc     *conn // nil only for connections not accepted through Serve
	source string

	mu       sync.Mutex
	busy     bool // between MAIL and the reply to DATA
	from     string
	rcpts    []string // as delivered (postmaster mapped to its mailbox)
	said     []string // as the client said them, for LMTP's per-recipient replies
	failures int
}

// fail counts a refused command; past MaxFailures the session ends.
func (ss *session) fail(err error) error {
	ss.mu.Lock()
	ss.failures++
	over := ss.failures >= ss.srv.opt.MaxFailures
	ss.mu.Unlock()
	if over && ss.nc != nil {
		ss.srv.log.Info("session closed: too many refused commands", "remote", ss.conn.Conn().RemoteAddr().String(), "failures", ss.srv.opt.MaxFailures)
		ss.nc.kill()
		return errTooManyErrs
	}
	return err
}

func (ss *session) progress() {
	if ss.nc != nil {
		ss.nc.progress()
	}
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.srv.draining.Load() {
		return errShutdown
	}
	if ss.nc != nil && ss.nc.isDead() {
		return errTooManyErrs
	}
	ss.mu.Lock()
	ss.busy = true
	ss.from = from
	ss.mu.Unlock()
	if opts != nil && opts.Size > 0 && ss.srv.opt.MaxMessageBytes > 0 && opts.Size > ss.srv.opt.MaxMessageBytes {
		return ss.fail(errTooBig)
	}
	ss.progress()
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.nc != nil && ss.nc.isDead() {
		return errTooManyErrs
	}
	said := to
	if pm := ss.srv.opt.Postmaster; pm != nil {
		if mb, ok := pm(to); ok {
			ss.srv.log.Info("mail to postmaster goes to a help desk mailbox", "rcpt", to, "mailbox", mb)
			to = mb
		}
	}
	if err := ss.srv.desk.CheckRecipient(to); err != nil {
		ss.srv.log.Info("recipient refused", "rcpt", to, "remote", ss.conn.Conn().RemoteAddr().String())
		return ss.fail(errUnknownRcpt)
	}
	ss.mu.Lock()
	ss.rcpts = append(ss.rcpts, to)
	ss.said = append(ss.said, said)
	ss.mu.Unlock()
	ss.progress()
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ss.srv.inData.Add(1)
	defer func() {
		ss.srv.lastData.Store(time.Now().UnixNano())
		ss.srv.inData.Add(-1)
	}()
	if ss.nc != nil {
		ss.nc.startData()
		defer ss.nc.endData()
	}
	// Mail is held in memory until it is committed; all sessions together
	// stay within the budget, and a session that would exceed it is asked
	// to come back later instead.
	br := &budgetReader{r: r, srv: ss.srv}
	defer func() { ss.srv.held.Add(-br.held) }()
	limit := ss.srv.opt.MaxMessageBytes
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&sizeReader{r: br, limit: limit}); err != nil {
		if errors.Is(err, errOverBudget) {
			// Give back what this mail held before reading the rest away,
			// so that the sessions still reading can finish theirs.
			ss.srv.held.Add(-br.held)
			br.held = 0
		}
		return ss.readFailed(r, err)
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
		ss.progress()
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

// readFailed answers a message that could not be read whole; nothing of
// it is kept. Only a message that was read to its end (too big, over the
// memory budget) leaves the connection usable: after any other failure
// the rest of the stream is never read, so it cannot run as commands.
func (ss *session) readFailed(r io.Reader, err error) error {
	var se *smtp.SMTPError
	switch {
	case errors.Is(err, errOverBudget):
		io.Copy(io.Discard, r)
		ss.srv.log.Warn("mail deferred: memory budget for mail in flight is used up", "budget", ss.srv.opt.MemoryBudget)
		return errBusy
	case errors.Is(err, errMessageTooBig), errors.Is(err, smtp.ErrDataTooLarge):
		if ss.conn.Server().LMTP && ss.nc != nil {
			// go-smtp's LMTP mode does not read an oversized body to its
			// end; close instead of reading its rest as commands.
			ss.nc.kill()
		}
		return errTooBig
	case errors.Is(err, smtp.ErrTooLongLine):
		ss.kill()
		return errLineTooLong
	case errors.As(err, &se) && se.Code/100 == 4:
		ss.kill()
		ss.srv.log.Info("message transfer failed", "source", ss.source, "reply", se.Code, "why", se.Message)
		return se
	default:
		ss.kill()
		ss.srv.log.Info("message transfer failed", "source", ss.source, "err", err)
		return errConnLost
	}
}

func (ss *session) kill() {
	if ss.nc != nil {
		ss.nc.kill()
	}
}

// LMTPData gives every recipient the same status: intake commits a mail
// for all its recipients in one transaction.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	err := ss.Data(r)
	ss.mu.Lock()
	rcpts := append([]string(nil), ss.said...)
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
	ss.rcpts, ss.said = nil, nil
	ss.mu.Unlock()
	if ss.srv.draining.Load() || (ss.nc != nil && ss.nc.isDead()) {
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
		if ss.busy && ss.nc != nil {
			busy[ss.nc] = true
		}
		ss.mu.Unlock()
	}
	for c := range s.conns {
		if !busy[c] {
			go c.Close()
		}
	}
}

// libLimit is the size limit given to go-smtp. go-smtp (v0.25) refuses a
// DATA of exactly its limit: it stops before the end-of-data line. It is
// given one byte more, and Data enforces the real limit itself (see
// sizeReader); MAIL FROM SIZE= is checked against the real limit in Mail.
func libLimit(n int64) int64 {
	if n <= 0 {
		return n
	}
	return n + 1
}

var errMessageTooBig = errors.New("smtpd: message larger than the limit")

// sizeReader fails once more than limit bytes were read (0: no limit).
type sizeReader struct {
	r     io.Reader
	limit int64
	n     int64
}

func (s *sizeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.limit > 0 && s.n > s.limit {
		return n, errMessageTooBig
	}
	return n, err
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
