package desk_test

import (
	"os"
	"testing"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres"
	"github.com/ticketd/ticketd/store/sqlite"
)

// TestMain stops the PostgreSQL server the tests started when
// TICKETD_TEST_STORE=postgres runs them on it.
func TestMain(m *testing.M) { os.Exit(daemontest.Main(m)) }

// The desk's tests run on the engine TICKETD_TEST_STORE names, and an
// agent sees her INBOX there.
func TestDeskEngineSelected(t *testing.T) {
	e := startDesk(t, "")
	var got string
	switch e.D.Store.(type) {
	case *postgres.Store:
		got = config.DriverPostgres
	case *sqlite.Store:
		got = config.DriverSQLite
	}
	if got != daemontest.Engine() {
		t.Fatalf("the desk runs on %T, but the engine asked for is %s", e.D.Store, daemontest.Engine())
	}
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "hola")
	c := e.login(ana)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("INBOX on %s after ticket #%d: %v %+v", daemontest.Engine(), n, err, sel)
	}
	t.Logf("engine: %s", daemontest.Engine())
}
