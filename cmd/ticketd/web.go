package main

import (
	"context"
	"fmt"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/web"
)

func init() { services = append(services, startWeb) }

// startWeb serves the status page on [http].listen; an empty listen turns
// the page off.
func startWeb(d *daemon.Daemon, cfg *config.Config) error {
	_, err := listenWeb(d, cfg)
	return err
}

// listenWeb is startWeb returning the server, so tests learn its address.
func listenWeb(d *daemon.Daemon, cfg *config.Config) (*web.Server, error) {
	if cfg.HTTP.Listen == "" {
		return nil, nil
	}
	h := web.New(d.Store, d.Config, d.Desk.Log, d.Desk.Now)
	srv, err := web.Listen(cfg.HTTP.Listen, h, d.Desk.Log)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	d.AddService("http", func(context.Context) error { return srv.Serve() })
	d.AddStopper(srv.Shutdown)
	d.Desk.Log.Info("status page serving", "http", srv.Addr().String(), "base_url", cfg.Server.BaseURL)
	return srv, nil
}
