// Package desk is the agents' desk: an IMAP server (go-imap's imapserver)
// that shows each agent the queues of the mailboxes she serves as folders
// of her own mail client. One message per ticket and folder; a changed
// ticket comes back as a new, unread message; moving a ticket's message
// into Mios, Libres or Cerrado takes, releases or closes it, recorded in
// its history like the same command in a mail. Nothing else is written.
package desk

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
)

// Options configure a Server.
type Options struct {
	Store  ticketd.Store
	Config func() *config.Config
	Key    []byte // HMAC key of agents' reply addresses
	// SigningKey, when set, returns the key in force (it follows `ticketd
	// keys rotate`); Key is used when it is nil.
	SigningKey func() []byte
	Now        func() time.Time
	Log        *slog.Logger
	// TLSConfig, when set, is offered by STARTTLS (or wraps every
	// connection when the listener is made by ListenTLS).
	TLSConfig *tls.Config
	// PollInterval is how often an idling client's folder is compared
	// with the database, for changes made by other processes (default 2 s).
	// Changes made through this process are announced at once (Notify).
	PollInterval time.Duration
	// Wake is called after a move queued outgoing mail.
	Wake func()
	// Sleep waits before answering a login from an address that failed
	// repeatedly (tests record it instead of waiting).
	Sleep func(time.Duration)
}

// Server is the agents' desk.
type Server struct {
	opt  Options
	imap *imapserver.Server

	mu      sync.Mutex
	changed chan struct{}
	fails   map[string]*failures

	cache renderCache
}

// New returns a desk server; Serve starts it on a listener.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 2 * time.Second
	}
	if opt.Sleep == nil {
		opt.Sleep = time.Sleep
	}
	s := &Server{opt: opt, changed: make(chan struct{}), fails: map[string]*failures{}}
	s.cache.max = 4096
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{srv: s, conn: c}, nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {}},
		// Login checks TLS itself: plain-text logins are allowed from
		// loopback, which imapserver cannot tell apart.
		InsecureAuth: true,
		TLSConfig:    opt.TLSConfig,
		Logger:       slogPrintf{opt.Log},
	})
	return s
}

// Serve accepts desk connections on l until Close.
func (s *Server) Serve(l net.Listener) error { return s.imap.Serve(l) }

// Close stops listening and closes every connection.
func (s *Server) Close() error { return s.imap.Close() }

// Notify tells idling clients to look for changes now (intake calls it
// after a commit, through the daemon's wiring).
func (s *Server) Notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) cfg() *config.Config { return s.opt.Config() }

// view runs fn in a read transaction with the desk's part of the store.
func (s *Server) view(fn func(tx ticketd.Tx, d ticketd.DeskTx) error) error {
	return s.opt.Store.View(context.Background(), func(tx ticketd.Tx) error {
		d, ok := tx.(ticketd.DeskTx)
		if !ok {
			return errNoDesk
		}
		return fn(tx, d)
	})
}

func (s *Server) update(fn func(tx ticketd.Tx, d ticketd.DeskTx) error) error {
	return s.opt.Store.Update(context.Background(), func(tx ticketd.Tx) error {
		d, ok := tx.(ticketd.DeskTx)
		if !ok {
			return errNoDesk
		}
		return fn(tx, d)
	})
}

var errNoDesk = errors.New("desk: this store engine does not offer the agents' desk")

// failures counts an address's failed logins.
type failures struct {
	n    int
	last time.Time
}

// Failed logins from one address are answered ever more slowly: after
// freeAttempts, each waits twice as long as the one before, up to maxDelay.
const (
	freeAttempts = 3
	maxDelay     = 16 * time.Second
	failMemory   = 15 * time.Minute
)

func (s *Server) loginDelay(addr string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fails[addr]
	if f == nil || s.opt.Now().Sub(f.last) > failMemory || f.n < freeAttempts {
		return 0
	}
	d := time.Second << min(f.n-freeAttempts, 4)
	return min(d, maxDelay)
}

func (s *Server) loginFailed(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now()
	f := s.fails[addr]
	if f == nil || now.Sub(f.last) > failMemory {
		f = &failures{}
		s.fails[addr] = f
	}
	f.n++
	f.last = now
	// Keep the table small under a scan from many addresses.
	if len(s.fails) > 10000 {
		for k, v := range s.fails {
			if now.Sub(v.last) > failMemory {
				delete(s.fails, k)
			}
		}
	}
}

func (s *Server) loginSucceeded(addr string) {
	s.mu.Lock()
	delete(s.fails, addr)
	s.mu.Unlock()
}

// hostOf is the IP address of a connection's peer, as a string.
func hostOf(a net.Addr) string {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().String()
	}
	return a.String()
}

func isLoopback(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().IsLoopback()
}

// slogPrintf lets imapserver log through slog.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, args ...any) {
	l.log.Warn("desk: " + fmt.Sprintf(format, args...))
}

// renderCache keeps rendered desk messages by agent and UID: a UID's
// message never changes, and clients fetch the same ones often.
type renderCache struct {
	mu  sync.Mutex
	max int
	m   map[cacheKey]*rendered
}

type cacheKey struct {
	agent string
	uid   uint32
}

type rendered struct {
	data   []byte
	text   string // the body, for SEARCH
	ticket *ticketd.Ticket
}

func (c *renderCache) get(k cacheKey) *rendered {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *renderCache) put(k cacheKey, r *rendered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = map[cacheKey]*rendered{}
	}
	c.m[k] = r
}
