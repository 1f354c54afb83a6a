package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/lifecycle"
)

func init() {
	commands["sweep"] = command{"run one reminder/auto-close pass now: sweep [--now RFC3339] [--dry-run]", runSweep}
}

func newScheduler(st ticketd.Store, cfg func() *config.Config, now func() time.Time) *lifecycle.Scheduler {
	return &lifecycle.Scheduler{Store: st, Config: cfg, Now: now}
}

// runSweep runs one scheduler pass as of --now (default: the real time) and
// prints one line per action ("#12 reminder", "#12 close"). The mails it
// queues are due at once and are sent before it exits (or by a running
// daemon: rows are claimed, so each is sent once).
func runSweep(env *cmdEnv, args []string) int {
	f := newFlags(env, "sweep")
	nowFlag := f.String("now", "", "act as of this moment (RFC 3339, e.g. 2026-12-01T09:00:00Z); default now")
	dryRun := f.Bool("dry-run", false, "print what would be done; change and send nothing")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.stderr, "ticketd sweep: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	at := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(env.stderr, "ticketd sweep: --now %q is not an RFC 3339 time (e.g. 2026-12-01T09:00:00Z)\n", *nowFlag)
			return exitUsage
		}
		at = t
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	log := newLogger(env.stderr, cfg.Server, nil)
	parts, err := daemon.OpenParts(cfg, daemon.Options{Log: log})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitTempFail
	}
	defer parts.Store.Close()
	s := newScheduler(parts.Store, parts.Desk.Config, func() time.Time { return at })
	s.MailNow = time.Now
	s.Log = log
	ctx := context.Background()
	var acts []lifecycle.Action
	if *dryRun {
		acts, err = s.Plan(ctx)
	} else {
		acts, err = s.Pass(ctx)
	}
	for _, a := range acts {
		fmt.Fprintln(env.stdout, a.String())
	}
	if *dryRun && len(acts) == 0 && err == nil {
		fmt.Fprintln(env.stdout, "nothing due")
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd sweep: %v\n", err)
		return exitTempFail
	}
	if *dryRun || len(acts) == 0 {
		return exitOK
	}
	if c, ok := parts.Worker.Transport.(io.Closer); ok {
		defer c.Close() // QUIT to the smarthost sessions
	}
	if _, err := parts.Worker.RunOnce(ctx); err != nil {
		// The rows stay queued; the daemon or the next sweep sends them.
		fmt.Fprintf(env.stderr, "ticketd sweep: sending: %v\n", err)
		return exitTempFail
	}
	return exitOK
}
