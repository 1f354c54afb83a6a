package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/imapgw"
)

func init() { services = append(services, startIMAP) }

// startIMAP runs one gateway per [[imap]] entry. Changes to [[imap]] take
// effect on restart; the size limit follows a reload.
func startIMAP(d *daemon.Daemon, cfg *config.Config) error {
	for i, entry := range cfg.IMAP {
		gw := imapgw.New(entry, imapgw.Options{
			Desk:            d.Desk,
			Store:           d.Store,
			MaxMessageBytes: func() int64 { return d.Config().SMTP.MaxMessageBytes },
			Tokens:          imapTokens(cfg, i, daemon.Options{Now: d.Desk.Now, Log: d.Desk.Log}),
			Now:             d.Desk.Now,
			Log:             d.Desk.Log,
		})
		d.AddService("imap "+entry.Username+"@"+entry.Addr+" "+entry.Folder, gw.Run)
	}
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
