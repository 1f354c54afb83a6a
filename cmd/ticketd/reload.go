package main

import (
	"fmt"
	"reflect"

	"github.com/ticketd/ticketd/config"
)

// restartOnly lists the settings that serve reads once, at start: a SIGHUP
// that changes one of them is logged, since it takes effect only after a
// restart. Everything else (mailboxes, agents, lifecycle, time zone,
// languages, max_message_bytes, the STARTTLS certificate's content,
// log_level, admins, old_keys_valid_for) is in force at once.
var restartOnly = []struct {
	key string
	get func(c *config.Config) any
}{
	{"server.data_dir", func(c *config.Config) any { return c.Server.DataDir }},
	{"server.hostname", func(c *config.Config) any { return c.Server.Hostname }},
	{"server.templates_dir", func(c *config.Config) any { return c.Server.TemplatesDir }},
	{"server.log_format", func(c *config.Config) any { return c.Server.LogFormat }},
	{"smtp.listen", func(c *config.Config) any { return c.SMTP.Listen }},
	{"smtp.lmtp_listen", func(c *config.Config) any { return c.SMTP.LMTPListen }},
	{"smtp.tls_cert_file", func(c *config.Config) any { return c.SMTP.TLSCertFile == "" }},
	{"http.listen", func(c *config.Config) any { return c.HTTP.Listen }},
	{"http.metrics_listen", func(c *config.Config) any { return c.HTTP.MetricsListen }},
	{"outbound", func(c *config.Config) any { return c.Outbound }},
	{"imap", func(c *config.Config) any { return c.IMAP }},
}

// needRestart names each restart-only setting that differs between the
// running config and a new one, with both values (never a password).
func needRestart(old, cur *config.Config) []string {
	var out []string
	for _, s := range restartOnly {
		a, b := s.get(old), s.get(cur)
		if reflect.DeepEqual(a, b) {
			continue
		}
		switch s.key {
		case "outbound", "imap":
			out = append(out, s.key)
		case "smtp.tls_cert_file":
			out = append(out, s.key+" (turning STARTTLS on or off)")
		default:
			out = append(out, fmt.Sprintf("%s (%v -> %v)", s.key, a, b))
		}
	}
	return out
}
