package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// A killed server comes back with everything it acknowledged.
func TestKillKeepsCommits(t *testing.T) {
	s := Start(t)
	dsn := s.NewDB(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE TABLE t (v int); INSERT INTO t VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	s.Kill()
	s.Start(t)
	c, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v int
	if err := c.QueryRow(ctx, `SELECT v FROM t`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("after a kill: %d %v", v, err)
	}
}
