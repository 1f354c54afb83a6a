package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// check-config --connect reaches the PostgreSQL store and names the step
// that failed; a password never shows.
func TestCheckConfigConnectPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	good := srv.NewDB(t)
	withDSN := func(dsn string) string {
		dir := t.TempDir()
		_, path := writeConfig(t, daemontest.BaseConfig(dir)+fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn))
		return path
	}
	u, _ := url.Parse(good)
	swap := func(f func(u *url.URL)) string {
		c := *u
		f(&c)
		return c.String()
	}
	cases := []struct {
		name, dsn string
		code      int
		want      string
	}{
		{"reachable", good, 0, "PostgreSQL 1"},
		{"wrong password", swap(func(u *url.URL) { u.User = url.UserPassword(pgtest.User, "wrong-pw") }), 1, "FAILED: auth: log in as ticketd"},
		{"no such database", swap(func(u *url.URL) { u.Path = "/nope" }), 1, "FAILED: database: open database nope"},
		{"closed port", swap(func(u *url.URL) { u.Host = fmt.Sprintf("127.0.0.1:%d", freePort(t)) }), 1, "FAILED: tcp: TCP connect to 127.0.0.1:"},
		{"unknown host", swap(func(u *url.URL) { u.Host = "db.ticketd-test.invalid:5432" }), 1, "FAILED: dns: DNS lookup of db.ticketd-test.invalid"},
		{"TLS refused", swap(func(u *url.URL) { u.RawQuery = "sslmode=require" }), 1, "FAILED: tls:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBin(t, "", nil, "check-config", "--connect", "-config", withDSN(c.dsn))
			if r.code != c.code || !strings.Contains(r.stdout, c.want) {
				t.Fatalf("exit %d, stdout:\n%s\nstderr: %s\nwant exit %d and %q", r.code, r.stdout, r.stderr, c.code, c.want)
			}
			if strings.Contains(r.stdout+r.stderr, pgtest.Password) || strings.Contains(r.stdout+r.stderr, "wrong-pw") {
				t.Fatalf("a password was printed:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}
