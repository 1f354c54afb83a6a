package imapgw_test

import (
	"os"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// TestMain stops the PostgreSQL server the tests started, if any.
func TestMain(m *testing.M) { os.Exit(daemontest.Main(m)) }
