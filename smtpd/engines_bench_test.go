package smtpd_test

import (
	"testing"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// BenchmarkIngestEngines is BenchmarkIngest's 10 KB new-ticket mails at 16
// connections, side by side in one run: on SQLite, on PostgreSQL with one
// daemon, and with two daemons (each its own store and connection pool,
// the connections split between them) on one database. The PostgreSQL
// server is a private one, durable (fsync on), on the same machine.
//
//	go test -run '^$' -bench IngestEngines -benchtime 3s ./smtpd/
func BenchmarkIngestEngines(b *testing.B) {
	mail := func(i int) string { return textMail(i, 10<<10) }
	const conns = 16
	b.Run("sqlite", func(b *testing.B) {
		e := daemontest.StartStore(b, "", config.Store{Driver: config.DriverSQLite})
		runLoad(b, e.D.SMTPAddr.String(), conns, mail)
	})
	b.Run("postgres", func(b *testing.B) {
		srv := pgtest.StartWith(b, pgtest.Options{Durable: true})
		for _, daemons := range []int{1, 2} {
			name := map[int]string{1: "1-process", 2: "2-processes"}[daemons]
			b.Run(name, func(b *testing.B) {
				st := config.Store{Driver: config.DriverPostgres, DSN: srv.NewDB(b)}
				var addrs []string
				for range daemons {
					addrs = append(addrs, daemontest.StartStore(b, "", st).D.SMTPAddr.String())
				}
				runLoadOn(b, addrs, conns, mail)
			})
		}
	})
}
