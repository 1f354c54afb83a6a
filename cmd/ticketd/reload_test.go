package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
)

// needRestart names exactly the settings a SIGHUP cannot apply, and never
// prints a secret.
func TestNeedRestart(t *testing.T) {
	base := daemontest.BaseConfig("/srv/t")
	load := func(text string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(text), "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := load(base)
	cases := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"a new mailbox and agent", func(s string) string {
			return s + "\n[[agents]]\nemail = \"eva@example.com\"\n[[mailboxes]]\naddress = \"ventas@example.com\"\nagents = [\"eva@example.com\"]\n"
		}, nil},
		{"log level and admins", func(s string) string {
			return strings.Replace(s, "[server]\n", "[server]\nlog_level = \"debug\"\nadmins = [\"it@example.com\"]\nold_keys_valid_for = \"1h\"\n", 1)
		}, nil},
		{"listener and data_dir", func(s string) string {
			return strings.Replace(strings.Replace(s, `listen = "127.0.0.1:0"`, `listen = "127.0.0.1:2526"`, 1), `"/srv/t/data"`, `"/srv/other"`, 1)
		}, []string{"server.data_dir (/srv/t/data -> /srv/other)", "smtp.listen (127.0.0.1:0 -> 127.0.0.1:2526)"}},
		{"smarthost password", func(s string) string {
			return strings.Replace(s, "transport = \"dir\"", "transport = \"dir\"\nsmtp_username = \"u\"\nsmtp_password = \"s3cret\"", 1)
		}, []string{"outbound"}},
		{"metrics and log format", func(s string) string {
			return strings.Replace(strings.Replace(s, "[http]\nlisten = \"\"", "[http]\nlisten = \"\"\nmetrics_listen = \"127.0.0.1:9180\"", 1),
				"[server]\n", "[server]\nlog_format = \"json\"\n", 1)
		}, []string{"server.log_format (text -> json)", "http.metrics_listen ( -> 127.0.0.1:9180)"}},
	}
	for _, c := range cases {
		got := needRestart(old, load(c.edit(base)))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if strings.Contains(strings.Join(got, " "), "s3cret") {
			t.Errorf("%s: a password in the log", c.name)
		}
	}
}
