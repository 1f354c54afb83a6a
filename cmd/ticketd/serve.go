package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
)

// services start the optional parts of `serve` (status page, scheduler,
// IMAP gateway); each file of this package that owns one appends to it.
var services []func(d *daemon.Daemon, cfg *config.Config) error

func init() {
	commands["serve"] = command{"run the daemon: SMTP/LMTP intake, outbox, and the rest", runServe}
}

func runServe(env *cmdEnv, args []string) int {
	f := newFlags(env, "serve")
	if _, code, ok := f.parse(args); !ok {
		return code
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	level := new(slog.LevelVar)
	log := newLogger(env.stderr, cfg.Server, level)
	// A daemon started before its PostgreSQL server waits for it (a
	// signal ends the wait).
	startCtx, stopWaiting := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopWaiting()
	opts := daemon.Options{Log: log, WaitForStore: startCtx}
	if env.getenv("GOGC") != "" {
		opts.GCPercent = -1 // the admin's GOGC wins
	}
	if env.getenv("GOMEMLIMIT") != "" {
		opts.MemoryLimit = -1 // and GOMEMLIMIT
	}
	// Signals are ours before anything starts: a SIGHUP during start-up
	// must not end the process (its default action), and a SIGTERM then
	// is handled once serving.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// With log_format = "json" even the reason serve cannot start is a
	// JSON line, for the collector that reads them.
	cannotStart := func(err error) int {
		if cfg.Server.LogFormat == "json" {
			log.Error("cannot start", "err", err)
		} else {
			fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		}
		return exitFailure
	}
	d, err := daemon.Start(cfg, opts)
	stopWaiting()
	if err != nil {
		return cannotStart(err)
	}
	for _, start := range services {
		if err := start(d, cfg); err != nil {
			shutdown(d)
			return cannotStart(err)
		}
	}
	started := cfg // restart-only settings stay as they were at start
	for {
		select {
		case err := <-d.Errors():
			// A listener that dies takes the daemon with it, loudly.
			log.Error("stopping after a failure", "err", err)
			shutdown(d)
			return exitFailure
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				newCfg, err := config.Load(f.configPath())
				if err != nil {
					log.Error("config reload failed; keeping the running config", "errors", strings.TrimSpace(err.Error()))
					continue
				}
				for _, key := range needRestart(started, newCfg) {
					log.Warn("config reload: setting changed but needs a restart; the old value stays in force", "setting", key)
				}
				d.Reload(newCfg)
				level.Set(logLevel(newCfg.Server.LogLevel))
				log.Info("config reloaded", "mailboxes", len(newCfg.Mailboxes), "agents", len(newCfg.Agents))
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			if err := shutdown(d); err != nil {
				log.Error("shutdown incomplete", "err", err)
				return exitFailure
			}
			log.Info("stopped")
			return exitOK
		}
	}
}

func shutdown(d *daemon.Daemon) error {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	return d.Shutdown(ctx)
}
