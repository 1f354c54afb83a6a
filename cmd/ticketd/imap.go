package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ticketd/ticketd/alerts"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/imapgw"
)

func init() { services = append(services, startIMAP) }

// startIMAP runs one gateway per [[imap]] entry. Changes to [[imap]] take
// effect on restart; the size limit follows a reload.
func startIMAP(d *daemon.Daemon, cfg *config.Config) error {
	if len(cfg.IMAP) == 0 {
		return nil
	}
	watch := &alerts.IMAPWatch{Store: d.Store, Config: d.Config, Now: d.Desk.Now, Wake: d.Worker.Wake, Log: d.Desk.Log}
	for i, entry := range cfg.IMAP {
		account := entry.Username + "@" + entry.Addr
		passed, failed := watch.Watch(account, entry.Folder, entry.Mailbox, entry.PollInterval.Duration)
		gw := imapgw.New(entry, imapgw.Options{
			Desk:            d.Desk,
			Store:           d.Store,
			MaxMessageBytes: func() int64 { return d.Config().SMTP.MaxMessageBytes },
			Tokens:          imapTokens(cfg, i, daemon.Options{Now: d.Desk.Now, Log: d.Desk.Log, LoginNeeded: d.LoginNeeded}),
			Now:             d.Desk.Now,
			Log:             d.Desk.Log,
			OnPass: func(at time.Time) {
				d.Metrics.IMAPSuccess(account, entry.Folder, at)
				passed(at)
			},
			OnFailure: failed,
		})
		d.AddService("imap "+account+" "+entry.Folder, gw.Run)
	}
	d.AddService("imap alerts", watch.Run)
	return nil
}

// checkIMAP logs in to every [[imap]] entry (check-config --connect) and
// says what failed; it reports whether all succeeded.
func checkIMAP(ctx context.Context, w io.Writer, cfg *config.Config) bool {
	ok := true
	for i, entry := range cfg.IMAP {
		ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		summary, err := imapgw.Check(ctx, entry, imapTokens(cfg, i, daemon.Options{Log: quietLog}))
		cancel()
		if err != nil {
			fmt.Fprintf(w, "imap[%d] %s@%s: FAILED: %v\n", i, entry.Username, entry.Addr, err)
			ok = false
			continue
		}
		fmt.Fprintf(w, "imap[%d] %s@%s: %s\n", i, entry.Username, entry.Addr, summary)
	}
	return ok
}

// imapTokens is the entry's token source, or a nil interface for a
// password login.
func imapTokens(cfg *config.Config, i int, opt daemon.Options) imapgw.TokenSource {
	if src := daemon.IMAPTokens(cfg, i, opt); src != nil {
		return src
	}
	return nil
}

// quietLog drops log lines: check-config prints each problem itself.
var quietLog = slog.New(slog.DiscardHandler)
