package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ticketd/ticketd/config"
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
