package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/replykeys"
	"github.com/ticketd/ticketd/store/sqlite"
)

func init() {
	commands["backup"] = command{"write a consistent copy of the data_dir (safe while serve runs): backup --to DIR", runBackup}
	usageLines["backup"] = "ticketd backup --to DIR [-config FILE]\n  DIR must be empty or absent; it becomes a data_dir serve can use as it is"
}

// runBackup copies the reply keys and a snapshot of the database into DIR,
// then checks the copy. Exit 0 only when the copy checked out.
func runBackup(env *cmdEnv, args []string) int {
	f := newFlags(env, "backup")
	to := f.String("to", "", "directory to write the backup to (empty or absent)")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	if *to == "" || len(pos) > 0 {
		fmt.Fprintln(env.stderr, "usage: ticketd backup --to DIR")
		return exitUsage
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	dst, err := filepath.Abs(*to)
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: %v\n", err)
		return exitUsage
	}
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 {
		fmt.Fprintf(env.stderr, "ticketd backup: %s is not empty; give a new directory\n", dst)
		return exitUsage
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(env.stderr, "ticketd backup: %v\n", err)
		return exitFailure
	}
	if err := os.MkdirAll(dst, 0o750); err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: %v\n", err)
		return exitFailure
	}
	src := cfg.Server.DataDir
	if _, err := os.Stat(daemon.DBPath(src)); err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: no database in %s: %v\n", src, err)
		return exitFailure
	}
	st, err := sqlite.Open(daemon.DBPath(src), sqlite.Options{BusyTimeout: busyTimeout(env)})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	ctx := context.Background()
	// Keys first: a rotation during the backup leaves the copy with the
	// key that signed everything in it.
	if err := replykeys.CopyTo(src, dst); err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: copying the reply keys: %v\n", err)
		return exitFailure
	}
	if err := st.BackupTo(ctx, daemon.DBPath(dst)); err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: %v\n", err)
		return exitFailure
	}
	// The search index of the live database trails new mail by a moment;
	// bring the copy's up to date, which also proves it opens as serve
	// opens it (and SQLite's check compares the index with the messages).
	if err := indexCopy(ctx, daemon.DBPath(dst)); err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: the copy in %s did not open: %v\n", dst, err)
		return exitFailure
	}
	tickets, msgs, err := sqlite.CheckBackup(ctx, daemon.DBPath(dst))
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd backup: the copy in %s did not check out: %v\n", dst, err)
		return exitFailure
	}
	fmt.Fprintf(env.stdout, "backup in %s: ok (%d tickets, %d messages, reply keys; integrity checked)\n", dst, tickets, msgs)
	return exitOK
}

func indexCopy(ctx context.Context, path string) error {
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return err
	}
	if _, err := st.IndexSearch(ctx); err != nil {
		st.Close()
		return err
	}
	return st.Close()
}
