package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/replykeys"
	"github.com/ticketd/ticketd/store"
)

func init() {
	commands["keys"] = command{"manage the reply-address keys: keys rotate", func(env *cmdEnv, args []string) int {
		return runGroup(env, "keys", keysSubcommands, args)
	}}
	usageLines["keys rotate"] = "ticketd keys rotate [-config FILE]"
}

var keysSubcommands = map[string]func(env *cmdEnv, args []string) int{
	"rotate": runKeysRotate,
}

// runKeysRotate makes a new signing key. A running serve picks it up by
// itself (it watches reply.key, or re-reads the database's keys); the old
// key keeps verifying for [server] old_keys_valid_for.
func runKeysRotate(env *cmdEnv, args []string) int {
	f := newFlags(env, "keys rotate")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.stderr, "ticketd keys rotate: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	now := time.Now()
	if cfg.Store.Driver == config.DriverPostgres {
		return rotateSharedKey(env, cfg, now)
	}
	hadKey, err := replykeys.Rotate(cfg.Server.DataDir, now)
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd keys rotate: %v\n", err)
		return exitFailure
	}
	file := filepath.Join(cfg.Server.DataDir, replykeys.File)
	if !hadKey {
		fmt.Fprintf(env.stdout, "made a new reply key in %s (there was none: reply addresses handed out before it will not verify)\n", file)
		return exitOK
	}
	until := now.Add(cfg.Server.OldKeysValidFor.Duration).In(cfg.Server.Location)
	fmt.Fprintf(env.stdout, "new reply key in %s; it signs from now on. The old key (kept in %s) accepts the addresses it signed until %s (server.old_keys_valid_for).\n",
		file, filepath.Join(cfg.Server.DataDir, replykeys.Dir), until.Format("2006-01-02 15:04 MST"))
	return exitOK
}

// rotateSharedKey rotates the reply key of a PostgreSQL store, where every
// process on the database reads its keys: the new key signs in each of
// them within replykeys.SharedRefresh, and verifies in each at once.
func rotateSharedKey(env *cmdEnv, cfg *config.Config, now time.Time) int {
	ctx := context.Background()
	where := "the database " + config.RedactDSN(cfg.Store.DSN)
	st, err := store.OpenConfig(ctx, cfg, store.Options{})
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd keys rotate: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	sh, ok := st.(ticketd.Shared)
	if !ok {
		fmt.Fprintf(env.stderr, "ticketd keys rotate: %s does not keep reply keys\n", where)
		return exitFailure
	}
	hadKey, err := sh.RotateReplyKey(ctx, replykeys.New(), now)
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd keys rotate: %v\n", err)
		return exitFailure
	}
	if !hadKey {
		fmt.Fprintf(env.stdout, "made a new reply key in %s (there was none: reply addresses handed out before it will not verify)\n", where)
		return exitOK
	}
	until := now.Add(cfg.Server.OldKeysValidFor.Duration).In(cfg.Server.Location)
	fmt.Fprintf(env.stdout, "new reply key in %s; it signs from now on (every serve on the database signs with it within %s, and accepts it at once). The old key (kept in the database) accepts the addresses it signed until %s (server.old_keys_valid_for).\n",
		where, replykeys.SharedRefresh, until.Format("2006-01-02 15:04 MST"))
	return exitOK
}
