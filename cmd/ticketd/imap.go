package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/imapgw"
)

func init() { services = append(services, startIMAP) }

// startIMAP runs one gateway per [[imap]] entry. Changes to [[imap]] take
// effect on restart; the size limit follows a reload.
func startIMAP(d *daemon.Daemon, cfg *config.Config) error {
	for _, entry := range cfg.IMAP {
		gw := imapgw.New(entry, imapgw.Options{
			Desk:            d.Desk,
			Store:           d.Store,
			MaxMessageBytes: func() int64 { return d.Config().SMTP.MaxMessageBytes },
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
