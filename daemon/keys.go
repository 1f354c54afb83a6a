package daemon

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/replykeys"
)

// openKeys loads the reply keys of dataDir, refusing to replace a lost
// key silently: a database with tickets and no reply.key is an error that
// names the file.
func openKeys(dataDir string, st ticketd.Store, log *slog.Logger) (*replykeys.Ring, error) {
	ring, created, err := replykeys.Open(dataDir, func() (bool, error) {
		var n int
		err := st.View(context.Background(), func(tx ticketd.Tx) error {
			var err error
			n, err = tx.CountTickets()
			return err
		})
		return n > 0, err
	})
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created a new reply key; back it up with the database", "file", filepath.Join(dataDir, replykeys.File))
	}
	return ring, nil
}
