package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/store"
	"github.com/ticketd/ticketd/store/postgres"
)

// checkStore connects to a PostgreSQL store (check-config --connect) and
// says what failed; it reports whether it succeeded. SQLite needs no check.
func checkStore(ctx context.Context, w io.Writer, cfg *config.Config) bool {
	if cfg.Store.Driver != config.DriverPostgres {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name := config.RedactDSN(cfg.Store.DSN)
	summary, err := postgres.Check(ctx, cfg.Store.DSN)
	if err != nil {
		fmt.Fprintf(w, "store %s: FAILED: %v\n", name, err)
		return false
	}
	fmt.Fprintf(w, "store %s: %s\n", name, summary)
	return true
}

func init() {
	commands["store"] = command{"copy the SQLite installation into PostgreSQL: store copy --to postgres://...", runStore}
}

func runStore(env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprintln(env.stderr, "usage: ticketd store copy -config CFG --to postgres://user@host:5432/db")
		return exitUsage
	}
	f := newFlags(env, "store copy")
	to := f.String("to", "", "the empty PostgreSQL database to copy into (a URL, or env:VAR)")
	pos, code, ok := f.parse(args[1:])
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.stderr, "ticketd store copy: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	dsn := *to
	if name, ok := strings.CutPrefix(dsn, "env:"); ok {
		dsn = env.getenv(name)
	}
	if dsn == "" {
		fmt.Fprintln(env.stderr, "ticketd store copy: --to is required: the URL of an empty PostgreSQL database")
		return exitUsage
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	if cfg.Store.Driver == config.DriverPostgres {
		fmt.Fprintln(env.stderr, "ticketd store copy: the config already uses PostgreSQL; store copy copies a SQLite installation (driver = \"sqlite\")")
		return exitUsage
	}
	fmt.Fprintf(env.stdout, "copying %s into %s\n", store.DBPath(cfg.Server.DataDir), config.RedactDSN(dsn))
	if _, err := store.Copy(context.Background(), cfg.Server.DataDir, dsn, env.stdout); err != nil {
		fmt.Fprintf(env.stderr, "ticketd %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(env.stdout, "done: set [store] driver = \"postgres\" and dsn to this database, then start serve\n")
	return exitOK
}
