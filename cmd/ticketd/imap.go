package main

import (
	"context"
	"fmt"
	"io"
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
	for _, entry := range cfg.IMAP {
		account := entry.Username + "@" + entry.Addr
		passed, failed := watch.Watch(account, entry.Folder, entry.Mailbox, entry.PollInterval.Duration)
		gw := imapgw.New(entry, imapgw.Options{
			Desk:            d.Desk,
			Store:           d.Store,
			MaxMessageBytes: func() int64 { return d.Config().SMTP.MaxMessageBytes },
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
		summary, err := imapgw.Check(ctx, entry)
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
