package mailer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPPool sends through a smarthost over at most Size sessions, kept open
// and logged in between mails, so a burst of mail pays for one connection,
// one STARTTLS and one login per session instead of one per mail.
//
// A session whose last transaction did not finish, or that sat unused for
// a while, is checked with RSET before it carries the next mail; one that
// turns out dead before anything was accepted is replaced at once, and the
// mail goes over a new one. Sessions unused for IdleTimeout are closed
// with QUIT.
type SMTPPool struct {
	SMTPTransport
	// Size is how many sessions may be open at once (default 4);
	// [outbound] smtp_connections.
	Size int
	// IdleTimeout closes a session unused this long (default a minute).
	IdleTimeout time.Duration
	// ProbeAfter: a session unused longer than this is checked with RSET
	// before it is used again (default 5 s). Within a burst a finished
	// transaction (250 after DATA) leaves the session reset already
	// (RFC 5321 §4.1.1.4), and an RSET would cost two round trips with
	// go-smtp, which says EHLO again after it.
	ProbeAfter time.Duration
	// Now is the clock the idle times are read from (time.Now if nil).
	Now func() time.Time

	once   sync.Once
	slots  chan struct{}
	mu     sync.Mutex
	idle   []*session // the most recently used last
	timer  *time.Timer
	closed bool
	// eightBit: the session opened last offered 8BITMIME.
	eightBit atomic.Bool
}

// EightBit says whether the smarthost, as last seen, takes 8bit bodies
// (8BITMIME); before any session was opened, no.
func (p *SMTPPool) EightBit() bool { return p.eightBit.Load() }

// session is one open, logged-in connection to the smarthost.
type session struct {
	c    *smtp.Client
	last time.Time // when it last finished a mail
	// dirty: its last transaction ended before the end of DATA, so the
	// server may still hold a sender or recipients.
	dirty bool
}

func (p *SMTPPool) init() {
	p.once.Do(func() {
		if p.Size <= 0 {
			p.Size = 4
		}
		if p.IdleTimeout <= 0 {
			p.IdleTimeout = time.Minute
		}
		if p.ProbeAfter <= 0 {
			p.ProbeAfter = 5 * time.Second
		}
		if p.Now == nil {
			p.Now = time.Now
		}
		p.slots = make(chan struct{}, p.Size)
	})
}

// Send implements Transport.
func (p *SMTPPool) Send(ctx context.Context, _ int64, m *Composed) error {
	p.init()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.slots }()
	for {
		s, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = p.ready(s)
		if err == nil {
			err = transact(s.c, m)
		}
		if err == nil {
			s.dirty = false
			p.put(s)
			return nil
		}
		var early *notSentError
		if reused && errors.As(err, &early) {
			// The session died while it waited (the smarthost closed it):
			// nothing of this mail was accepted, so a new one takes it.
			s.c.Close()
			continue
		}
		if usable(err) {
			s.dirty = true
			p.put(s)
		} else {
			s.c.Close()
		}
		return err
	}
}

// get takes the most recently used open session, or opens a new one.
func (p *SMTPPool) get(ctx context.Context) (*session, bool, error) {
	now := p.Now()
	var stale []*session
	var s *session
	p.mu.Lock()
	for len(p.idle) > 0 && s == nil {
		last := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(last.last) >= p.IdleTimeout {
			stale = append(stale, last)
		} else {
			s = last
		}
	}
	p.mu.Unlock()
	quit(stale)
	if s != nil {
		return s, true, nil
	}
	c, err := p.open(ctx)
	if err != nil {
		return nil, false, err
	}
	ok, _ := c.Extension("8BITMIME")
	p.eightBit.Store(ok)
	return &session{c: c, last: now}, false, nil
}

// ready resets a session that may hold an unfinished transaction, or that
// waited long enough for the smarthost to have dropped it.
func (p *SMTPPool) ready(s *session) error {
	if !s.dirty && p.Now().Sub(s.last) < p.ProbeAfter {
		return nil
	}
	if err := s.c.Reset(); err != nil {
		if usable(err) {
			return classify("RSET", err)
		}
		return &notSentError{classify("RSET", err)}
	}
	s.dirty = false
	return nil
}

// put keeps a session for the next mail.
func (p *SMTPPool) put(s *session) {
	s.last = p.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		quit([]*session{s})
		return
	}
	p.idle = append(p.idle, s)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.IdleTimeout, p.closeIdle)
	}
	p.mu.Unlock()
}

// closeIdle says QUIT to the sessions unused for IdleTimeout, and comes
// back for the others when theirs would run out.
func (p *SMTPPool) closeIdle() {
	now := p.Now()
	var stale []*session
	p.mu.Lock()
	keep := p.idle[:0]
	for _, s := range p.idle {
		if now.Sub(s.last) >= p.IdleTimeout {
			stale = append(stale, s)
		} else {
			keep = append(keep, s)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if len(p.idle) > 0 && !p.closed {
		wait := p.IdleTimeout - now.Sub(p.idle[0].last)
		p.timer = time.AfterFunc(max(wait, time.Second), p.closeIdle)
	}
	p.mu.Unlock()
	quit(stale)
}

// Close says QUIT to every open session; mail sent afterwards goes over
// sessions that are closed when their mail is done.
func (p *SMTPPool) Close() error {
	p.init()
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	quit(idle)
	return nil
}

func quit(ss []*session) {
	for _, s := range ss {
		if s.c.Quit() != nil {
			s.c.Close()
		}
	}
}

// notSentError is a session that failed before the smarthost accepted
// anything of the mail: at RSET or MAIL FROM, without an answer or with
// 421 (the smarthost closing it).
type notSentError struct{ error }

func (e *notSentError) Unwrap() error { return e.error }

// usable tells whether a session is still in step after err: the
// smarthost answered (other than 421, its closing), so the next mail can
// follow after RSET.
func usable(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code != 421
}
