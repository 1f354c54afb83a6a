// Package imapgw takes support mail from a mailbox at a mail provider: it
// logs in over IMAP, feeds each new mail to intake, and marks, moves or
// deletes it only after intake committed it. One Gateway serves one
// [[imap]] entry.
//
// Where a folder stands (UIDVALIDITY, the last UID handled) is kept in the
// store, so a restart of either side neither skips nor doubles a mail; a
// re-scan is safe because intake recognises a mail it already holds.
package imapgw

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/oauth"
)

// Deliverer takes one mail durably; *intake.Desk is one.
type Deliverer interface {
	Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error)
}

// StateStore keeps the gateway's position (UIDVALIDITY, last UID); a
// ticketd.Store is one.
type StateStore interface {
	View(ctx context.Context, fn func(ticketd.Tx) error) error
	Update(ctx context.Context, fn func(ticketd.Tx) error) error
}

// Options are what a Gateway needs besides its [[imap]] entry.
type Options struct {
	Desk  Deliverer
	Store StateStore
	// MaxMessageBytes returns the size limit in force ([smtp].max_message_bytes);
	// 0 or nil means no limit.
	MaxMessageBytes func() int64
	// Tokens gives OAuth2 access tokens when the entry has auth = "xoauth2".
	Tokens TokenSource
	Now    func() time.Time
	Log    *slog.Logger
	// BatchSize is how many UIDs one FETCH asks for (default 100).
	BatchSize int
	// MinBackoff and MaxBackoff bound the wait before reconnecting or
	// retrying a failed delivery (default 1s and 5m).
	MinBackoff, MaxBackoff time.Duration
	// OnPass, when set, hears of every pass that read the folder through
	// to the end (metrics; the admins' alert when passes stop).
	OnPass func(at time.Time)
	// OnFailure, when set, hears of every failed connection or pass.
	OnFailure func(err error)
}

// Gateway fetches one IMAP folder into intake.
type Gateway struct {
	cfg  config.IMAP
	opt  Options
	src  ticketd.IMAPSource
	log  *slog.Logger
	wake chan struct{}

	// Connection state, for logging each change once.
	up        bool
	everUp    bool
	downStep  string
	downSince time.Time
	failures  int

	// Delivery state, for the same reason.
	failingUID     imap.UID
	failedAttempts int
}

// New returns a gateway for cfg; Run starts it.
func New(cfg config.IMAP, opt Options) *Gateway {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 100
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(5*time.Minute, opt.MinBackoff)
	}
	return &Gateway{
		cfg:  cfg,
		opt:  opt,
		src:  ticketd.IMAPSource{Addr: cfg.Addr, Username: cfg.Username, Folder: cfg.Folder},
		log:  opt.Log.With("imap", cfg.Username+"@"+cfg.Addr, "folder", cfg.Folder),
		wake: make(chan struct{}, 1),
	}
}

// Run fetches until ctx ends, reconnecting with capped exponential backoff
// after any failure. It returns nil when ctx ends; nothing else stops it.
func (g *Gateway) Run(ctx context.Context) error {
	backoff := g.opt.MinBackoff
	for {
		healthy, err := g.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if healthy {
			backoff = g.opt.MinBackoff
		}
		g.setDown(err, backoff)
		if !sleep(ctx, backoff, nil) {
			return nil
		}
		backoff = min(backoff*2, g.opt.MaxBackoff)
	}
}

// setUp and setDown log connection state changes, each once: a server that
// stays unreachable for an hour gives one warning, not one per attempt.
func (g *Gateway) setUp(idle bool) {
	mode := "idle"
	if !idle {
		mode = "poll every " + g.cfg.PollInterval.String()
	}
	switch {
	case !g.everUp:
		g.log.Info("imap connected", "mode", mode)
	case !g.up:
		g.log.Info("imap reconnected", "mode", mode, "down_for", time.Since(g.downSince).Round(100*time.Millisecond).String(), "failed_attempts", g.failures)
	}
	g.up, g.everUp, g.downStep, g.failures = true, true, "", 0
}

func (g *Gateway) setDown(err error, retry time.Duration) {
	if g.opt.OnFailure != nil && err != nil {
		g.opt.OnFailure(err)
	}
	step := stepOf(err)
	if g.up || g.downStep == "" {
		g.downSince = time.Now()
	}
	g.failures++
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.NeedsLogin {
		// The token source has said it, once, with what to do.
		g.log.Debug("imap waiting for a new OAuth2 refresh token", "retry_in", retry.String())
		g.up, g.downStep = false, step
		return
	}
	switch {
	case g.up:
		g.log.Warn("imap connection lost", "step", step, "err", err, "retry_in", retry.String())
	case g.downStep == "":
		g.log.Warn("imap cannot connect", "step", step, "err", err, "retry_in", retry.String())
	case step != g.downStep:
		// Still down, for another reason (the server is back but refuses the login, say).
		g.log.Info("imap still unavailable", "step", step, "err", err, "retry_in", retry.String())
	default:
		g.log.Debug("imap still unavailable", "step", step, "err", err, "retry_in", retry.String())
	}
	g.up, g.downStep = false, step
}

// session runs one connection: login, select, then passes until something
// fails. healthy reports that at least one pass completed, which resets
// the reconnect backoff.
func (g *Gateway) session(ctx context.Context) (healthy bool, err error) {
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				g.poke()
			}
		},
	}}
	c, err := dial(ctx, g.cfg, g.opt.Tokens, opts)
	if err != nil {
		return false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	sel, err := c.Select(g.cfg.Folder, nil).Wait()
	if err != nil {
		return false, stepErr(StepFolder, "select folder "+g.cfg.Folder, err)
	}
	s := &session{g: g, c: c, folders: map[string]bool{}}
	if err := s.syncState(ctx, sel); err != nil {
		return false, err
	}
	idle := c.Caps().Has(imap.CapIdle)
	g.setUp(idle)
	retry := g.opt.MinBackoff
	for {
		g.drainWake()
		err := s.takeTurn(ctx)
		if ctx.Err() != nil {
			return healthy, nil
		}
		var de *deliverError
		if errors.As(err, &de) {
			// The store is failing, not the connection: keep it, and come
			// back for the mail that stayed in place.
			if !sleep(ctx, retry, c.Closed()) {
				return healthy, connErr(ctx, c)
			}
			retry = min(retry*2, g.opt.MaxBackoff)
			continue
		}
		if err != nil {
			return healthy, err
		}
		healthy, retry = true, g.opt.MinBackoff
		if g.opt.OnPass != nil {
			g.opt.OnPass(g.opt.Now())
		}
		if err := g.wait(ctx, c, idle); err != nil {
			return healthy, err
		}
	}
}

// wait returns when there may be new mail: the server said so during IDLE,
// or poll_interval passed (also with IDLE, as a safety net against a
// silently dead connection).
func (g *Gateway) wait(ctx context.Context, c *imapclient.Client, idle bool) error {
	if !idle {
		if !sleep(ctx, g.cfg.PollInterval.Duration, c.Closed()) {
			return connErr(ctx, c)
		}
		return nil
	}
	cmd, err := c.Idle()
	if err != nil {
		return err
	}
	g.log.Debug("imap idling")
	t := time.NewTimer(g.cfg.PollInterval.Duration)
	defer t.Stop()
	select {
	case <-g.wake:
	case <-t.C:
	case <-ctx.Done():
	case <-c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	return cmd.Wait()
}

func (g *Gateway) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *Gateway) drainWake() {
	select {
	case <-g.wake:
	default:
	}
}

// connErr explains why a wait ended early.
func connErr(ctx context.Context, c *imapclient.Client) error {
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("connection closed by the server")
}

// sleep waits d; false if ctx ended or closed fired first.
func sleep(ctx context.Context, d time.Duration, closed <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-closed:
		return false
	}
}

// moveTarget is the folder of after = "move:FOLDER", else "".
func moveTarget(after string) string {
	f, _ := strings.CutPrefix(after, "move:")
	if f == after {
		return ""
	}
	return f
}

// deliveryFailed logs a temporary intake failure: a warning the first time
// a mail fails, quieter while the same mail keeps failing.
func (g *Gateway) deliveryFailed(uid imap.UID, err error) {
	g.failedAttempts++
	if uid != g.failingUID {
		g.failingUID = uid
		g.log.Warn("imap mail not taken; it stays in the folder and is retried", "uid", uid, "err", err)
		return
	}
	g.log.Debug("imap mail still not taken", "uid", uid, "err", err, "attempts", g.failedAttempts)
}
