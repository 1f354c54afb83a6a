package smtpd

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Connection handling below go-smtp: limits on how many connections are
// open, how long a peer may stay silent, and how long a whole message may
// take. go-smtp sets one read deadline before each command line and none
// of its own during DATA or BDAT; conn turns that into what a mail server
// needs:
//
//   - while a message is being read, each read waits at most ReadTimeout
//     (a slow link that keeps sending is fine), and the whole transfer
//     ends at DataTimeout;
//   - a session that makes no progress (no accepted MAIL, RCPT or message)
//     for ReadTimeout is closed, however many NOOPs or failing commands it
//     sends meanwhile;
//   - once a read inside a message failed, the connection is dead: it is
//     never read again, so the rest of a stalled body can never run as
//     commands. The reply to the message is still written, then the
//     connection is closed.

// errStalled is returned by a read that waited longer than allowed inside
// a message. go-smtp passes an *smtp.SMTPError through as the reply (BDAT
// chunks are read by go-smtp itself, not by the session).
var errStalled = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout while reading the message; nothing was kept, please send it again"}

// errDead is what every read of a dead connection returns; go-smtp ends a
// session quietly on net.ErrClosed.
var errDead = net.ErrClosed

// conn is one accepted connection.
type conn struct {
	net.Conn
	s    *Server
	ip   string // remote IP; "" for Unix sockets, which are not counted per IP
	once sync.Once

	mu        sync.Mutex
	inData    bool
	dataUntil time.Time // end of the message transfer in progress
	idleUntil time.Time // the session must make progress before this
	dead      bool

	// Command rewriting (see postmaster.go): midLine is true when the
	// last byte read was not a line end, inMessage after a DATA or BDAT
	// command until the message is over, tls after STARTTLS (for good),
	// pending what is yet to return.
	midLine   bool
	inMessage bool
	tls       bool
	pending   []byte
}

func (c *conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return 0, errDead
	}
	inData := c.inData
	if inData {
		d := time.Now().Add(c.s.opt.ReadTimeout)
		if d.After(c.dataUntil) {
			d = c.dataUntil
		}
		c.Conn.SetReadDeadline(d)
	}
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		return n, nil
	}
	rewrite := !inData && !c.inMessage && !c.tls && c.s.opt.Postmaster != nil && c.s.opt.Hostname != ""
	c.mu.Unlock()
	n, err := c.Conn.Read(b)
	if err != nil && !inData {
		// A BDAT chunk may be read before the session's Data has begun
		// (go-smtp runs it in its own goroutine); by the time this read
		// failed, it has.
		c.mu.Lock()
		inData = c.inData
		c.mu.Unlock()
	}
	if err != nil && inData {
		c.kill()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return n, errStalled
		case err != io.EOF:
			return n, errConnLost
		}
	}
	if rewrite && n > 0 {
		c.mu.Lock()
		out, atStart, msg, tls := rewriteCommands(b[:n], !c.midLine, c.s.opt.Hostname)
		c.midLine, c.inMessage, c.tls = !atStart, msg, tls
		n = copy(b, out)
		c.pending = append(c.pending, out[n:]...)
		c.mu.Unlock()
	} else if n > 0 {
		c.mu.Lock()
		c.midLine = b[n-1] != '\n'
		c.mu.Unlock()
	}
	return n, err
}

// SetReadDeadline is how go-smtp bounds the wait for the next command line;
// it is cut short when the session has been idle too long.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.idleUntil.IsZero() && (t.IsZero() || t.After(c.idleUntil)) {
		t = c.idleUntil
	}
	if c.inData {
		return nil // Read sets its own deadline per read
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// startData begins a message transfer: reads get the per-read timeout
// until endData.
func (c *conn) startData() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inData {
		c.inData = true
		c.dataUntil = time.Now().Add(c.s.opt.DataTimeout)
	}
}

// endData ends a message transfer. Whatever its outcome, it was progress:
// the idle clock starts again, so a long transfer answered 552 or 451 is
// not followed by an idle timeout.
func (c *conn) endData() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inData = false
	c.inMessage = false
	c.idleUntil = time.Now().Add(c.s.opt.ReadTimeout)
}

// progress records an accepted step of a mail transaction: the session
// may stay another ReadTimeout.
func (c *conn) progress() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idleUntil = time.Now().Add(c.s.opt.ReadTimeout)
}

// kill makes every later read fail at once. Writes still work, so the
// reply in progress reaches the client before the connection is closed.
func (c *conn) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
}

func (c *conn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		if c.ip != "" {
			if c.s.perIP[c.ip]--; c.s.perIP[c.ip] <= 0 {
				delete(c.s.perIP, c.ip)
			}
		}
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// limitListener hands go-smtp only the connections within the limits; the
// others hear 421 4.7.0 and are closed at once, so a flood of idle
// connections cannot use up the process's file descriptors.
type limitListener struct {
	net.Listener
	s    *Server
	lmtp bool // LMTP comes from the local MTA: not limited per IP
}

// Accept implements net.Listener.
func (l limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := l.s.admit(nc, !l.lmtp); c != nil {
			return c, nil
		}
	}
}

// errTooManyConns is written to a connection over the limits.
const tooManyConns = "421 4.7.0 Too many connections, please try again later\r\n"

// admit counts nc in, or refuses it (nil) when a limit is reached.
func (s *Server) admit(nc net.Conn, perIP bool) *conn {
	ip := ""
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok && perIP {
		ip = ta.IP.String()
	}
	s.mu.Lock()
	total, fromIP := len(s.conns), s.perIP[ip]
	over := total >= s.opt.MaxConnections || (ip != "" && fromIP >= s.opt.MaxConnectionsPerIP)
	var c *conn
	if !over {
		c = &conn{Conn: nc, s: s, ip: ip}
		c.idleUntil = time.Now().Add(s.opt.ReadTimeout)
		s.conns[c] = struct{}{}
		if ip != "" {
			s.perIP[ip]++
		}
	}
	s.mu.Unlock()
	if over {
		s.log.Warn("connection refused: limit reached", "remote", ip, "open", total, "open_from_ip", fromIP)
		// A new socket's send buffer is empty, so this write does not
		// wait; the deadline is only for a peer that is already gone.
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write([]byte(tooManyConns))
		nc.Close()
		return nil
	}
	return c
}

// connOf finds the conn under a go-smtp connection, also after STARTTLS.
func connOf(nc net.Conn) *conn {
	for {
		switch v := nc.(type) {
		case *conn:
			return v
		case interface{ NetConn() net.Conn }:
			nc = v.NetConn()
		default:
			return nil
		}
	}
}
