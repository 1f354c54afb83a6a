package daemon

import (
	"context"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/metrics"
)

// newMetrics builds the daemon's metrics over its store.
func newMetrics(st ticketd.Store, d *Daemon) (*metrics.Metrics, error) {
	src := func(ctx context.Context, afterRawID int64) (metrics.Counts, error) {
		var c ticketd.MetricsCounts
		err := st.View(ctx, func(tx ticketd.Tx) error {
			var err error
			c, err = tx.MetricsCounts(afterRawID)
			return err
		})
		return metrics.Counts{OutboxQueued: c.OutboxQueued, Tickets: c.Tickets, Received: c.Received, LastRawID: c.LastRawID}, err
	}
	return metrics.New(context.Background(), src, d.log)
}
