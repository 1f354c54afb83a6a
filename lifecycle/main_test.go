package lifecycle_test

import (
	"os"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// TestMain stops the PostgreSQL server the tests started when
// TICKETD_TEST_STORE=postgres runs them on it.
func TestMain(m *testing.M) { os.Exit(daemontest.Main(m)) }
