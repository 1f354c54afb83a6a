package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/desk"
)

func init() { services = append(services, startDesk) }

// startDesk serves the agents' desk on [agent_imap].listen; an empty
// listen turns it off.
func startDesk(d *daemon.Daemon, cfg *config.Config) error {
	_, err := listenDesk(d, cfg)
	return err
}

// listenDesk is startDesk returning the listener, so tests learn its address.
func listenDesk(d *daemon.Daemon, cfg *config.Config) (net.Listener, error) {
	ac := cfg.AgentIMAP
	if ac.Listen == "" {
		return nil, nil
	}
	var tlsCfg *tls.Config
	if ac.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(ac.TLSCertFile, ac.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("agent_imap.tls_cert_file: %w", err)
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", ac.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent_imap.listen %s: %w", ac.Listen, err)
	}
	opts := desk.Options{Store: d.Store, Config: d.Config, Key: d.Desk.Key, SigningKey: d.Parts.Composer.SigningKey, Now: d.Desk.Now, Log: d.Desk.Log, Wake: d.Worker.Wake}
	if ac.TLS == "implicit" {
		l = tls.NewListener(l, tlsCfg)
	} else {
		opts.TLSConfig = tlsCfg
	}
	srv := desk.New(opts)
	// Intake and the scheduler wake the outbox after a commit; the desk's
	// idling clients hear of the change at the same moment.
	d.Parts.OnCommit(srv.Notify)
	d.AddService("desk", func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			srv.Close()
		}()
		return srv.Serve(l)
	})
	d.Desk.Log.Info("agents' desk serving", "imap", l.Addr().String(), "tls", ac.TLS, "cert", ac.TLSCertFile != "")
	return l, nil
}
