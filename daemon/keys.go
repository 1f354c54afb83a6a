package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

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

// openSharedKeys reads the reply keys of a store several processes share
// (PostgreSQL), storing a first key when it has none (StoreKey). The ring
// reads them again every replykeys.SharedRefresh, timed by now, so that a
// `ticketd keys rotate` reaches every process without a restart.
func openSharedKeys(ctx context.Context, sh ticketd.Shared, now func() time.Time, log *slog.Logger) (*replykeys.Ring, error) {
	if _, err := StoreKey(ctx, sh); err != nil {
		return nil, err
	}
	return replykeys.OpenShared(ctx, SharedKeys(sh), now, log)
}

// SharedKeys reads the reply keys of a shared store as a replykeys.Source.
func SharedKeys(sh ticketd.Shared) replykeys.Source {
	return func(ctx context.Context) ([]byte, []replykeys.Old, error) {
		cur, retired, err := sh.ReplyKeys(ctx)
		if err != nil {
			return nil, nil, err
		}
		old := make([]replykeys.Old, len(retired))
		for i, k := range retired {
			old[i] = replykeys.Old{Key: k.Key, RetiredAt: k.RetiredAt}
		}
		return cur, old, nil
	}
}
