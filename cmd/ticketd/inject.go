package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/intake"
)

func init() {
	commands["inject"] = command{"deliver one message from standard input (for MTA pipes)", runInject}
}

// runInject delivers stdin through the same intake as SMTP. Exit codes
// follow sysexits so an MTA pipe knows whether to retry.
func runInject(env *cmdEnv, args []string) int {
	f := newFlags(env, "inject")
	to := f.String("to", "", "recipient address (required)")
	from := f.String("from", "", `envelope sender; -from "" is the null sender (a bounce); omitted: taken from Return-Path, else From`)
	if _, code, ok := f.parse(args); !ok {
		return code
	}
	fromGiven := false
	f.Visit(func(fl *flag.Flag) { fromGiven = fromGiven || fl.Name == "from" })
	if *to == "" {
		fmt.Fprintln(env.stderr, "ticketd inject: -to ADDRESS is required")
		return exitUsage
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	raw, err := io.ReadAll(io.LimitReader(env.stdin, cfg.SMTP.MaxMessageBytes+1))
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd inject: reading standard input: %v\n", err)
		return exitTempFail
	}
	if int64(len(raw)) > cfg.SMTP.MaxMessageBytes {
		fmt.Fprintf(env.stderr, "ticketd inject: message larger than smtp.max_message_bytes (%d)\n", cfg.SMTP.MaxMessageBytes)
		return exitDataErr
	}
	if !fromGiven {
		// Unknown is not the null sender: the headers decide.
		*from = intake.SenderFromHeaders(raw)
	}
	parts, err := daemon.OpenParts(cfg, daemon.Options{Log: newLogger(io.Discard, cfg.Server, nil), BusyTimeout: busyTimeout(env)})
	if errors.Is(err, ticketd.ErrBusy) {
		fmt.Fprintln(env.stderr, "ticketd inject: database stayed locked; try again later")
		return exitTempFail
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd inject: temporary failure: %v\n", err)
		return exitTempFail
	}
	defer parts.Store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := parts.Desk.Deliver(ctx, intake.Envelope{Source: "inject", From: *from, Rcpts: []string{*to}}, raw)
	switch {
	case err == nil:
	case errors.Is(err, intake.ErrUnknownRecipient):
		fmt.Fprintf(env.stderr, "ticketd inject: unknown recipient %s: not a configured mailbox\n", *to)
		return exitNoUser
	case errors.Is(err, intake.ErrNotMail):
		fmt.Fprintln(env.stderr, "ticketd inject: input is not a mail message (empty, or no header section)")
		return exitDataErr
	case errors.Is(err, ticketd.ErrBusy):
		fmt.Fprintln(env.stderr, "ticketd inject: database stayed locked; try again later")
		return exitTempFail
	default:
		fmt.Fprintf(env.stderr, "ticketd inject: temporary failure: %v\n", err)
		return exitTempFail
	}
	// The running daemon's worker sends what was queued (it polls); when
	// none runs, a later serve or sweep will.
	if res.Duplicate {
		fmt.Fprintf(env.stdout, "duplicate of a stored message; ticket %v\n", res.Tickets)
	} else {
		fmt.Fprintf(env.stdout, "delivered; ticket %v\n", res.Tickets)
	}
	return exitOK
}

// busyTimeout is how long to wait for a lock held by another process:
// TICKETD_BUSY_TIMEOUT (a Go duration) or 30 s.
func busyTimeout(env *cmdEnv) time.Duration {
	if v := env.getenv("TICKETD_BUSY_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return 30 * time.Second
}
