package daemon_test

import (
	"testing"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres"
	"github.com/ticketd/ticketd/store/sqlite"
)

// The end-to-end tests run on the engine TICKETD_TEST_STORE names.
func TestEngineSelected(t *testing.T) {
	e := daemontest.Start(t, "")
	switch st := e.D.Store.(type) {
	case *postgres.Store:
		if daemontest.Engine() != config.DriverPostgres {
			t.Fatalf("running on PostgreSQL, but %s=%q", daemontest.EngineVar, daemontest.Engine())
		}
	case *sqlite.Store:
		if daemontest.Engine() != config.DriverSQLite {
			t.Fatalf("running on SQLite, but the engine asked for is %s", daemontest.Engine())
		}
	default:
		t.Fatalf("unknown engine %T", st)
	}
	t.Logf("engine: %s", daemontest.Engine())
}
