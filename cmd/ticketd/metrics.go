package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
)

func init() { services = append(services, startMetrics) }

// startMetrics serves Prometheus /metrics on [http] metrics_listen, its own
// listener (never the status page's, which faces customers).
func startMetrics(d *daemon.Daemon, cfg *config.Config) error {
	if cfg.HTTP.MetricsListen == "" {
		return nil
	}
	l, err := net.Listen("tcp", cfg.HTTP.MetricsListen)
	if err != nil {
		return fmt.Errorf("http.metrics_listen %s: %w", cfg.HTTP.MetricsListen, err)
	}
	srv := &http.Server{Handler: d.Metrics.Handler(), ReadHeaderTimeout: 10 * time.Second}
	d.AddService("metrics", func(context.Context) error {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	d.AddStopper(srv.Shutdown)
	d.Desk.Log.Info("metrics serving", "metrics", l.Addr().String())
	return nil
}
