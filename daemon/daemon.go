// Package daemon wires ticketd's parts into one running service: store,
// intake, SMTP/LMTP listeners, the outbox worker and the background loops.
// cmd/ticketd and end-to-end tests both start it through Start.
package daemon

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/store"
	"github.com/ticketd/ticketd/threading"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/mailer"
	"github.com/ticketd/ticketd/metrics"
	"github.com/ticketd/ticketd/oauth"
	"github.com/ticketd/ticketd/replykeys"
	"github.com/ticketd/ticketd/smtpd"
)

// Options carry what is injected rather than configured.
type Options struct {
	Now func() time.Time
	Log *slog.Logger
	// Transport overrides the configured outbound transport (tests).
	Transport mailer.Transport
	// OutboxPoll overrides how often the worker looks for rows queued by
	// other processes.
	OutboxPoll time.Duration
	// ManualOutbox leaves the outbox worker stopped: tests call
	// Worker.RunOnce themselves, so what was sent is deterministic.
	ManualOutbox bool
	// OutboxConcurrency is how many mails the worker sends at once
	// (default 4; tests that read mails in order use 1).
	OutboxConcurrency int
	// BusyTimeout is how long a write waits for another process's lock
	// (default 30 s).
	BusyTimeout time.Duration
	// GCPercent is the garbage collector's target (default 300; negative
	// leaves the runtime's setting, e.g. when GOGC is set). ticketd keeps
	// little live data between mails, so a higher target trades some memory
	// (bounded by the mail budget) for about a tenth more mails per second.
	GCPercent int
	// LoginNeeded is told when an OAuth2 provider refuses a refresh token;
	// OpenParts sets it to mail [server] admins.
	LoginNeeded func(*oauth.Error)
	// WaitForStore, when set, keeps trying to reach a PostgreSQL store
	// that does not answer until it ends (serve); otherwise the first
	// failure is returned (inject, sweep).
	WaitForStore context.Context
	// MemoryLimit is the runtime's soft memory limit (default: 64 MiB and
	// three times the mail budget, 160 MiB with 25 MiB mails; negative
	// leaves the runtime's setting, e.g. when GOMEMLIMIT is set): with
	// GCPercent's high target, it makes the collector work harder only
	// when large mails are in flight. SQLite's own buffers (a copy or two
	// of the largest mail while it is written) come on top.
	MemoryLimit int64
}

// Daemon is a running ticketd.
type Daemon struct {
	// LoginNeeded mails [server] admins about a refused OAuth2 refresh
	// token (see Parts.LoginNeeded).
	LoginNeeded func(*oauth.Error)
	Store       ticketd.Store
	Desk        *intake.Desk
	Worker      *mailer.Worker
	SMTP        *smtpd.Server
	// Metrics is what /metrics serves (on [http] metrics_listen, when set).
	Metrics *metrics.Metrics
	Parts   *Parts

	// Bound addresses (useful when the config says port 0).
	SMTPAddr net.Addr
	LMTPAddr net.Addr

	cfg       *config.Config
	log       *slog.Logger
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	errc      chan error
	listeners []net.Listener
	mu        sync.Mutex
	cert      atomic.Pointer[tls.Certificate]
	stops     []func(context.Context) error
}

// DBPath is where the database of a data directory lives.
func DBPath(dataDir string) string { return store.DBPath(dataDir) }

// StoreKey returns the reply-address key of a store shared by several
// processes (PostgreSQL): the first process's key, so that every process
// issues and accepts the same reply addresses.
func StoreKey(ctx context.Context, sh ticketd.Shared) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	return sh.ReplyKey(ctx, fresh)
}

// Parts are the pieces every subcommand that touches data needs.
type Parts struct {
	Store    ticketd.Store
	Key      []byte // the signing key at start; Keys follows rotations
	Keys     *replykeys.Ring
	Desk     *intake.Desk
	Composer *mailer.Composer
	Worker   *mailer.Worker

	mu       sync.Mutex
	onCommit []func()
}

// OnCommit registers fn to run after every intake commit that queued mail
// (the agents' desk tells its idling clients).
func (p *Parts) OnCommit(fn func()) {
	p.mu.Lock()
	p.onCommit = append(p.onCommit, fn)
	p.mu.Unlock()
}

func (p *Parts) wake() {
	p.Worker.Wake()
	p.mu.Lock()
	fns := p.onCommit
	p.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// OpenParts opens the store and builds intake and the outbox worker without
// listening anywhere (inject, sweep).
func OpenParts(cfg *config.Config, opt Options) (*Parts, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.Log = Redacting(opt.Log)
	if err := os.MkdirAll(cfg.Server.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	tpl, err := LoadTemplates(cfg)
	if err != nil {
		return nil, err
	}
	ctx, sopt := context.Background(), store.Options{BusyTimeout: opt.BusyTimeout, Log: opt.Log}
	if opt.WaitForStore != nil {
		ctx, sopt.Wait = opt.WaitForStore, true
	}
	st, err := store.OpenConfig(ctx, cfg, sopt)
	if err != nil {
		return nil, err
	}
	// A store several processes share keeps the reply keys itself; one
	// process's data_dir keeps its keys (and their rotations) in files.
	var ring *replykeys.Ring
	if sh, shared := st.(ticketd.Shared); shared {
		ring, err = openSharedKeys(ctx, sh, opt.Now, opt.Log)
	} else {
		ring, err = openKeys(cfg.Server.DataDir, st, opt.Log)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	key := ring.Signing()
	p := &Parts{Store: st, Key: key, Keys: ring}
	p.Desk = intake.New(st, cfg, key, opt.Now, opt.Log)
	p.Composer = &mailer.Composer{Config: p.Desk.Config, Templates: tpl, Key: key}
	p.Desk.VerifyKeys = func() [][]byte {
		return ring.Verifying(p.Desk.Now(), p.Desk.Config().Server.OldKeysValidFor.Duration)
	}
	p.Desk.ReloadKeys = ring.Reload
	p.Composer.SigningKey = ring.Signing
	opt.LoginNeeded = p.LoginNeeded
	tr := opt.Transport
	if tr == nil {
		tr = TransportFor(cfg, opt)
	}
	if pool, ok := tr.(*mailer.SMTPPool); ok {
		p.Composer.EightBit = pool.EightBit
	}
	concurrency := opt.OutboxConcurrency
	if concurrency == 0 && cfg.Outbound.Transport == "smtp" {
		// Two senders per smarthost session: while one waits for the
		// smarthost's answer, the other composes the next mail, so no
		// session sits idle between mails.
		concurrency = 2 * cfg.Outbound.SMTPConnections
	}
	p.Worker = &mailer.Worker{
		Store: st, Composer: p.Composer, Transport: tr, Now: opt.Now, Log: opt.Log,
		GiveUpAfter: cfg.Outbound.GiveUpAfter.Duration, Poll: opt.OutboxPoll, Concurrency: concurrency,
	}
	p.Desk.Wake = p.wake
	return p, nil
}

// outboxLinger is how long the running outbox lets due rows and finished
// deliveries gather before it commits their claims or outcomes.
const outboxLinger = 5 * time.Millisecond

// outboxYield is the longest a sender waits for intake to pause before it
// composes its next mail anyway.
const outboxYield = 50 * time.Millisecond

// LoginNeeded queues one mail to each of [server] admins saying that an
// account's OAuth2 refresh token was refused and how to sign in again.
func (p *Parts) LoginNeeded(e *oauth.Error) {
	cfg := p.Desk.Config()
	if len(cfg.Server.Admins) == 0 {
		return
	}
	a := &ticketd.OAuthAlert{Account: e.Account, Key: e.Key, Reason: e.Reason, Todo: e.Todo()}
	now := p.Desk.Now()
	var rows []*ticketd.Outgoing
	for _, admin := range cfg.Server.Admins {
		rows = append(rows, ticketd.NewOutgoing(0, ticketd.KindAdminOAuth, admin, 0, threading.NewMessageID("admin", cfg.Server.Hostname), ticketd.Params{OAuth: a}, now))
	}
	if err := p.Store.Update(context.Background(), func(tx ticketd.Tx) error { return tx.Enqueue(rows...) }); err != nil {
		p.Desk.Log.Error("could not queue the admins' alert", "account", e.Account, "err", err)
		return
	}
	if p.Worker != nil {
		p.Worker.Wake()
	}
}

// mailBudget bounds the raw bytes all SMTP sessions hold before their
// commit. Reading, parsing and storing a mail holds several times its size
// (the growing buffer, its decoded parts, the database's copy), so the
// largest mails are taken one at a time (at least 32 MiB of mail at once,
// some 150 mails of 200 KB): sixteen senders of 25 MB mails stay within a
// few hundred MB, and those that do not fit hear 452 and come back.
func mailBudget(maxMessage int64) int64 { return max(maxMessage, 32<<20) }

// memoryLimit is the default soft memory limit: what a daemon needs
// between mails, and room for the budget's mail while it is read, parsed
// (its decoded parts) and stored. Measured with sixteen 25 MB mails at
// once: peak RSS 374 MB with no limit, about 235 MB with this one.
func memoryLimit(maxMessage int64) int64 { return 64<<20 + 3*mailBudget(maxMessage) }

// Redacting returns log (the default logger when nil) writing through
// threading's redacting handler, so that no component's log line carries a
// reply token.
func Redacting(log *slog.Logger) *slog.Logger {
	if log == nil {
		log = slog.Default()
	}
	if _, ok := log.Handler().(*threading.RedactingHandler); ok {
		return log
	}
	return slog.New(threading.NewRedactingHandler(log.Handler()))
}

// TransportFor builds the configured outbound transport: for a smarthost,
// a pool of smtp_connections sessions kept open between mails (with
// smtp_auth = "xoauth2" it gets its access tokens from the refresh token
// file).
func TransportFor(cfg *config.Config, opt Options) mailer.Transport {
	if cfg.Outbound.Transport == "smtp" {
		t := mailer.SMTPTransport{
			Addr: cfg.Outbound.SMTPAddr, Username: cfg.Outbound.SMTPUsername, Password: cfg.Outbound.SMTPPassword,
			StartTLS: cfg.Outbound.SMTPStartTLS, Hostname: cfg.Server.Hostname,
		}
		if cfg.Outbound.SMTPAuth == "xoauth2" {
			t.Tokens = OutboundTokens(cfg, opt)
		}
		return &mailer.SMTPPool{SMTPTransport: t, Size: cfg.Outbound.SMTPConnections, Now: opt.Now}
	}
	return mailer.DirTransport{Dir: cfg.Outbound.Dir}
}

// OutboundTokens is the token source of [outbound] with smtp_auth = "xoauth2".
func OutboundTokens(cfg *config.Config, opt Options) *oauth.Source {
	return oauth.New(cfg.OutboundOAuth2(), oauth.Options{
		Now: opt.Now, Log: opt.Log,
		Login:       oauth.LoginCommand(cfg.Path, "--outbound"),
		Waiting:     "outgoing mail stays queued and is retried",
		LoginNeeded: opt.LoginNeeded,
	})
}

// IMAPTokens is the token source of the i-th [[imap]] entry, nil unless
// it has auth = "xoauth2".
func IMAPTokens(cfg *config.Config, i int, opt Options) *oauth.Source {
	if cfg.IMAP[i].Auth != "xoauth2" {
		return nil
	}
	return oauth.New(cfg.IMAPOAuth2(i), oauth.Options{
		Now: opt.Now, Log: opt.Log,
		Login:       oauth.LoginCommand(cfg.Path, fmt.Sprintf("--imap %d", i)),
		Waiting:     "mail stays in the IMAP folder",
		LoginNeeded: opt.LoginNeeded,
	})
}

// Start opens everything and begins serving. A listener that cannot be
// opened is an error: a daemon that cannot take mail must not pretend.
func Start(cfg *config.Config, opt Options) (*Daemon, error) {
	switch {
	case opt.GCPercent == 0:
		debug.SetGCPercent(300)
	case opt.GCPercent > 0:
		debug.SetGCPercent(opt.GCPercent)
	}
	switch {
	case opt.MemoryLimit == 0:
		debug.SetMemoryLimit(memoryLimit(cfg.SMTP.MaxMessageBytes))
	case opt.MemoryLimit > 0:
		debug.SetMemoryLimit(opt.MemoryLimit)
	}
	parts, err := OpenParts(cfg, opt)
	if err != nil {
		return nil, err
	}
	log := Redacting(opt.Log)
	d := &Daemon{Store: parts.Store, Desk: parts.Desk, Worker: parts.Worker, LoginNeeded: parts.LoginNeeded, Parts: parts, cfg: cfg, log: log, errc: make(chan error, 8)}
	if d.Metrics, err = newMetrics(parts.Store, d); err != nil {
		parts.Store.Close()
		return nil, err
	}
	d.Worker.OnSent, d.Worker.OnFailed = d.Metrics.OutboxSent, d.Metrics.OutboxFailed
	// One serve per data directory: its claims carry a name that survives
	// a restart, so it takes back at once what it held when it was killed.
	d.Worker.Owner = ServeOwner()
	smtpOpts := smtpd.Options{
		Hostname: cfg.Server.Hostname, MaxMessageBytes: cfg.SMTP.MaxMessageBytes, Log: log, OnSession: d.Metrics.SMTPSession,
		ReadTimeout: cfg.SMTP.ReadTimeout.Duration, DataTimeout: cfg.SMTP.DataTimeout.Duration,
		MaxConnections: cfg.SMTP.MaxConnections, MaxConnectionsPerIP: cfg.SMTP.MaxConnectionsPerIP,
		MemoryBudget: mailBudget(cfg.SMTP.MaxMessageBytes),
		Postmaster:   func(addr string) (string, bool) { return PostmasterMailbox(parts.Desk.Config(), addr) },
	}
	if cfg.SMTP.TLSCertFile != "" {
		if err := d.loadCert(cfg); err != nil {
			parts.Store.Close()
			return nil, err
		}
		// The certificate is looked up per handshake, so a renewed one is
		// picked up by SIGHUP without dropping connections.
		smtpOpts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return d.cert.Load(), nil
		}}
	}
	d.SMTP = smtpd.New(parts.Desk, smtpOpts)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel

	smtpL, err := net.Listen("tcp", cfg.SMTP.Listen)
	if err != nil {
		d.abort()
		return nil, fmt.Errorf("smtp.listen %s: %w", cfg.SMTP.Listen, err)
	}
	d.listeners = append(d.listeners, smtpL)
	d.SMTPAddr = smtpL.Addr()
	if cfg.SMTP.LMTPListen != "" {
		l, err := ListenLMTP(cfg.SMTP.LMTPListen)
		if err != nil {
			d.abort()
			return nil, fmt.Errorf("smtp.lmtp_listen %s: %w", cfg.SMTP.LMTPListen, err)
		}
		d.listeners = append(d.listeners, l)
		d.LMTPAddr = l.Addr()
		d.serve("lmtp", func() error { return d.SMTP.Serve(l, true) })
	}
	d.serve("smtp", func() error { return d.SMTP.Serve(smtpL, false) })
	if _, err := d.Worker.TakeBack(ctx); err != nil {
		log.Error("outbox: could not take back earlier claims", "err", err)
	}
	if !opt.ManualOutbox {
		// A few milliseconds more before an acknowledgement leaves cost
		// nobody anything; a commit fewer per mail is time intake gets.
		d.Worker.Linger = outboxLinger
		d.Worker.Busy, d.Worker.MaxYield = d.SMTP.Receiving, outboxYield
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.Worker.Run(ctx)
		}()
	}
	log.Info("ticketd serving", "smtp", d.SMTPAddr.String(), "lmtp", addrString(d.LMTPAddr), "outbound", cfg.Outbound.Transport)
	return d, nil
}

// AddService runs a background loop until the daemon stops (scheduler, IMAP).
func (d *Daemon) AddService(name string, run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	d.mu.Lock()
	d.stops = append(d.stops, func(context.Context) error { cancel(); return nil })
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := run(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("service stopped", "service", name, "err", err)
			d.errc <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// AddStopper registers a shutdown step (an HTTP server's Shutdown, say).
func (d *Daemon) AddStopper(stop func(context.Context) error) {
	d.mu.Lock()
	d.stops = append(d.stops, stop)
	d.mu.Unlock()
}

// Config returns the configuration in force.
func (d *Daemon) Config() *config.Config { return d.Desk.Config() }

// loadCert reads the STARTTLS certificate named by cfg.
func (d *Daemon) loadCert(cfg *config.Config) error {
	cert, err := tls.LoadX509KeyPair(cfg.SMTP.TLSCertFile, cfg.SMTP.TLSKeyFile)
	if err != nil {
		return fmt.Errorf("smtp.tls_cert_file: %w", err)
	}
	d.cert.Store(&cert)
	return nil
}

// Reload puts a new, already validated configuration in force. Listeners
// and the data directory stay as they were started; a STARTTLS certificate
// is read again (turning STARTTLS on or off needs a restart).
func (d *Daemon) Reload(cfg *config.Config) {
	if cfg.SMTP.TLSCertFile != "" && d.cert.Load() != nil {
		if err := d.loadCert(cfg); err != nil {
			d.log.Error("keeping the old STARTTLS certificate", "err", err)
		}
	}
	d.Desk.SetConfig(cfg)
	d.SMTP.SetMaxMessageBytes(cfg.SMTP.MaxMessageBytes)
}

// Errors reports a service that failed while running.
func (d *Daemon) Errors() <-chan error { return d.errc }

func (d *Daemon) serve(name string, fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil {
			d.log.Error("listener failed", "listener", name, "err", err)
			d.errc <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// Shutdown stops accepting, finishes what is in flight, and closes the store.
func (d *Daemon) Shutdown(ctx context.Context) error {
	err := d.SMTP.Shutdown(ctx)
	d.mu.Lock()
	stops := append([]func(context.Context) error{}, d.stops...)
	d.mu.Unlock()
	for _, s := range stops {
		err = errors.Join(err, s(ctx))
	}
	d.cancel()
	d.wg.Wait()
	if c, ok := d.Worker.Transport.(io.Closer); ok {
		c.Close() // QUIT to the smarthost sessions
	}
	return errors.Join(err, d.Store.Close())
}

func (d *Daemon) abort() {
	for _, l := range d.listeners {
		l.Close()
	}
	d.cancel()
	d.Store.Close()
}

// ListenLMTP opens "unix:/path" or "host:port". A stale socket file from a
// previous run is removed first.
func ListenLMTP(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", addr)
}

// ServeOwner is the name under which `ticketd serve` claims outbox rows.
func ServeOwner() string {
	host, _ := os.Hostname()
	return "serve@" + host
}

// PostmasterMailbox tells whether addr is postmaster (RFC 5321 §4.5.1: at
// any of our domains, case-insensitive) and names the mailbox that takes
// that mail: the first one, whose agents then see it.
func PostmasterMailbox(cfg *config.Config, addr string) (string, bool) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || !strings.EqualFold(local, "postmaster") || len(cfg.Mailboxes) == 0 {
		return "", false
	}
	ours := strings.EqualFold(domain, cfg.Server.Hostname)
	for _, m := range cfg.Mailboxes {
		if _, d, _ := strings.Cut(m.Address, "@"); strings.EqualFold(d, domain) {
			ours = true
		}
	}
	if !ours {
		return "", false
	}
	return cfg.Mailboxes[0].Address, true
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
