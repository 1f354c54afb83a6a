package main

import (
	"os"
	"testing"

	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// TestMain stops the PostgreSQL server the multi-process tests share.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
