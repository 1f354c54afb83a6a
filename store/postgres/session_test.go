package postgres

import (
	"context"
	"testing"

	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// The store's sessions run without JIT compilation (see Open), and a DSN
// that asks for it gets it.
func TestSessionsRunWithoutJIT(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	for _, c := range []struct {
		dsn  string
		want string
	}{
		{srv.NewDB(t), "off"},
		{srv.NewDB(t) + "&jit=on", "on"},
	} {
		s, err := Open(ctx, c.dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var jit, app string
		if err := s.Pool().QueryRow(ctx, `SELECT current_setting('jit'), current_setting('application_name')`).Scan(&jit, &app); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if jit != c.want || app != "ticketd" {
			t.Errorf("%s: jit = %s, application_name = %s; want jit %s, application_name ticketd", c.dsn, jit, app, c.want)
		}
	}
}
