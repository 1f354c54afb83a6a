package main

import (
	"context"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
)

func init() {
	services = append(services, startScheduler)
}

// startScheduler runs the reminder and auto-close pass every
// [lifecycle].scan_interval (re-read after each pass, so SIGHUP applies),
// on the daemon's clock.
func startScheduler(d *daemon.Daemon, _ *config.Config) error {
	s := newScheduler(d.Store, d.Config, d.Desk.Now)
	s.Log = d.Desk.Log
	interval := func() time.Duration { return d.Config().Lifecycle.ScanInterval.Duration }
	d.AddService("scheduler", func(ctx context.Context) error {
		return s.Run(ctx, interval, d.Worker.Wake)
	})
	return nil
}
