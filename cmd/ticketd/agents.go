package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketd/ticketd/desk"
	"github.com/ticketd/ticketd/store"
)

func init() {
	commands["agents"] = command{"manage agents' desk accounts: agents set-password EMAIL (password on stdin)", runAgents}
}

func runAgents(env *cmdEnv, args []string) int {
	f := newFlags(env, "agents")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 || pos[0] != "set-password" {
		fmt.Fprintln(env.stderr, "usage: ticketd agents set-password EMAIL [-config FILE] < password")
		return exitUsage
	}
	email := pos[1]
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	if cfg.Agent(email) == nil {
		fmt.Fprintf(env.stderr, "ticketd agents set-password: %s is not an [[agents]] entry of %s\n", email, f.configPath())
		return exitNoUser
	}
	// The first line of standard input is the password (a pipe, or a
	// terminal where it is typed and ended with Enter).
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(env.stderr, "ticketd agents set-password: no password on standard input")
		return exitDataErr
	}
	password := strings.TrimRight(line, "\r\n")
	// The configured store: a password must land where serve reads it.
	st, err := store.OpenConfig(context.Background(), cfg, store.Options{})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitTempFail
	}
	defer st.Close()
	err = desk.SetPassword(context.Background(), st, cfg, email, password, time.Now())
	switch {
	case errors.Is(err, desk.ErrEmptyPassword), errors.Is(err, desk.ErrLongPassword):
		fmt.Fprintf(env.stderr, "ticketd agents set-password: %v\n", err)
		return exitDataErr
	case err != nil:
		fmt.Fprintf(env.stderr, "ticketd agents set-password: %v\n", err)
		return exitTempFail
	}
	fmt.Fprintf(env.stdout, "desk password set for %s\n", strings.ToLower(email))
	return exitOK
}
