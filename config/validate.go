package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// languages are those the mail templates exist in.
var languages = []string{"es", "en", "fr", "pt", "it"}

// validate checks the decoded config; inFile tells which keys the file
// itself sets, so a problem between two keys names the one the admin wrote.
func (c *Config) validate(p *problems, inFile func(key string) bool) {
	c.validateServer(p)
	c.validateStore(p)
	c.validateListeners(p)
	c.validateOutbound(p)
	c.validateLifecycle(p, inFile)
	c.validateAgents(p)
	c.validateMailboxes(p)
	c.validateIMAP(p)
	c.validateOAuth2(p)
	c.validateAgentIMAP(p)
}

func (c *Config) validateAgentIMAP(p *problems) {
	a := &c.AgentIMAP
	if a.Listen != "" {
		if err := checkHostPort(a.Listen, "127.0.0.1:1143"); err != "" {
			p.add("agent_imap.listen", `%s; or "" for no desk`, err)
		}
	}
	switch a.TLS {
	case "starttls":
	case "implicit":
		if a.TLSCertFile == "" {
			p.add("agent_imap.tls", `"implicit" needs agent_imap.tls_cert_file and tls_key_file`)
		}
	default:
		p.add("agent_imap.tls", `must be "starttls" (offered when a certificate is set) or "implicit" (TLS from the first byte, port 993), not %q`, a.TLS)
	}
	switch cert, key := a.TLSCertFile, a.TLSKeyFile; {
	case cert == "" && key == "":
	case cert == "":
		p.add("agent_imap.tls_cert_file", "is needed with agent_imap.tls_key_file: the PEM certificate (chain)")
	case key == "":
		p.add("agent_imap.tls_key_file", "is needed with agent_imap.tls_cert_file: the PEM private key")
	default:
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			p.add("agent_imap.tls_cert_file", "cannot be loaded with agent_imap.tls_key_file: %v", err)
		}
	}
}

func (c *Config) validateServer(p *problems) {
	s := &c.Server
	if err := checkHostname(s.Hostname); err != "" {
		p.add("server.hostname", "%s; it is the EHLO name and Message-ID domain, e.g. \"tickets.example.com\"", err)
	}
	if s.DataDir == "" {
		p.add("server.data_dir", "must not be empty; it holds the database and keys")
	}
	if err := checkBaseURL(s.BaseURL); err != "" {
		p.add("server.base_url", "%s", err)
	} else {
		// Links are built as base_url + "/t/TOKEN".
		s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	}
	checkLanguage(p, "server.language", s.Language)
	if s.TimeZone == "" {
		p.add("server.time_zone", `must be an IANA time zone name such as "UTC" or "Europe/Madrid"`)
	} else if loc, err := time.LoadLocation(s.TimeZone); err != nil {
		p.add("server.time_zone", `unknown time zone %q; use an IANA name such as "UTC" or "Europe/Madrid"`, s.TimeZone)
	} else {
		s.Location = loc
	}
	if s.TemplatesDir != "" {
		if fi, err := os.Stat(s.TemplatesDir); err != nil {
			p.add("server.templates_dir", "%s; leave it empty to use the built-in templates", unwrapPathError(err))
		} else if !fi.IsDir() {
			p.add("server.templates_dir", "%s is not a directory", s.TemplatesDir)
		}
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		p.add("server.log_format", `must be "text" (one key=value line per event) or "json" (one JSON object per line), not %q`, s.LogFormat)
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.add("server.log_level", `must be "debug", "info", "warn" or "error", not %q`, s.LogLevel)
	}
	for i, a := range s.Admins {
		if err := checkAddress(a); err != "" {
			p.add(fmt.Sprintf("server.admins[%d]", i), "%s", err)
		}
	}
	checkPositive(p, "server.old_keys_valid_for", s.OldKeysValidFor)
	if s.DigestTime != "" {
		if t, err := time.Parse("15:04", s.DigestTime); err != nil || t.Format("15:04") != s.DigestTime {
			p.add("server.digest_time", `must be a time of day as "HH:MM" (24 hours, e.g. "08:00"), or "" for no digest, not %q`, s.DigestTime)
		}
	}
	if s.AutoreplyLimitPerHour < 1 {
		p.add("server.autoreply_limit_per_hour", "must be at least 1, not %d; it caps automatic answers to one sender and stops mail loops", s.AutoreplyLimitPerHour)
	}
}

func (c *Config) validateListeners(p *problems) {
	if c.SMTP.Listen == "" {
		p.add("smtp.listen", `must be host:port, e.g. "127.0.0.1:2525" or ":25"`)
	} else if err := checkHostPort(c.SMTP.Listen, "127.0.0.1:2525"); err != "" {
		p.add("smtp.listen", "%s", err)
	}
	if l := c.SMTP.LMTPListen; l != "" {
		if sock, ok := strings.CutPrefix(l, "unix:"); ok {
			if sock == "" {
				p.add("smtp.lmtp_listen", `"unix:" needs a socket path, e.g. "unix:/run/ticketd/lmtp.sock"`)
			}
		} else if err := checkHostPort(l, "127.0.0.1:24"); err != "" {
			p.add("smtp.lmtp_listen", `%s; or use "unix:/path/to/socket", or "" for no LMTP`, err)
		}
	}
	if c.SMTP.MaxMessageBytes <= 0 {
		p.add("smtp.max_message_bytes", "must be greater than 0, e.g. 26214400 (25 MiB)")
	}
	checkPositive(p, "smtp.read_timeout", c.SMTP.ReadTimeout)
	checkPositive(p, "smtp.data_timeout", c.SMTP.DataTimeout)
	if c.SMTP.MaxConnections < 1 {
		p.add("smtp.max_connections", "must be at least 1, not %d; it bounds open SMTP and LMTP connections", c.SMTP.MaxConnections)
	}
	if n := c.SMTP.MaxConnectionsPerIP; n < 1 {
		p.add("smtp.max_connections_per_ip", "must be at least 1, not %d", n)
	} else if n > c.SMTP.MaxConnections && c.SMTP.MaxConnections >= 1 {
		p.add("smtp.max_connections_per_ip", "is %d, more than smtp.max_connections (%d)", n, c.SMTP.MaxConnections)
	}
	if id := c.Security.TrustedAuthservID; id != "" && strings.ContainsAny(id, " \t;\"=") {
		p.add("security.trusted_authserv_id", "must be the receiving server's authserv-id as it appears in Authentication-Results, e.g. \"mx.example.com\", not %q", id)
	}
	switch cert, key := c.SMTP.TLSCertFile, c.SMTP.TLSKeyFile; {
	case cert == "" && key == "":
	case cert == "":
		p.add("smtp.tls_cert_file", "is needed with smtp.tls_key_file: the PEM certificate (chain) for STARTTLS")
	case key == "":
		p.add("smtp.tls_key_file", "is needed with smtp.tls_cert_file: the PEM private key for STARTTLS")
	default:
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			p.add("smtp.tls_cert_file", "cannot be loaded with smtp.tls_key_file: %v", err)
		}
	}
	if c.HTTP.Listen != "" {
		if err := checkHostPort(c.HTTP.Listen, "127.0.0.1:8080"); err != "" {
			p.add("http.listen", `%s; or "" to turn the status page off`, err)
		}
	}
	if m := c.HTTP.MetricsListen; m != "" {
		if err := checkHostPort(m, "127.0.0.1:9180"); err != "" {
			p.add("http.metrics_listen", `%s; or "" for no metrics`, err)
		} else if m == c.HTTP.Listen || m == c.SMTP.Listen {
			p.add("http.metrics_listen", "%q is already the status page's or SMTP's listener; metrics need their own, e.g. \"127.0.0.1:9180\"", m)
		}
	}
}

func (c *Config) validateOutbound(p *problems) {
	o := &c.Outbound
	switch o.Transport {
	case "dir":
		if o.Dir == "" {
			p.add("outbound.dir", `must be set when transport is "dir"; it is where .eml files are written`)
		}
	case "smtp":
		if o.SMTPAddr == "" {
			p.add("outbound.smtp_addr", `must be set when transport is "smtp", e.g. "smtp.example.com:587"`)
		} else if err := checkHostPort(o.SMTPAddr, "smtp.example.com:587"); err != "" {
			p.add("outbound.smtp_addr", "%s", err)
		}
		if o.SMTPUsername != "" && o.SMTPPassword == "" && o.SMTPAuth != "xoauth2" && !p.has("outbound.smtp_password") {
			p.add("outbound.smtp_password", "must be set when smtp_username is set")
		}
		if o.SMTPUsername == "" && o.SMTPPassword != "" {
			p.add("outbound.smtp_username", "must be set when smtp_password is set")
		}
	default:
		p.add("outbound.transport", `must be "dir" (write .eml files) or "smtp" (send to a smarthost), not %q`, o.Transport)
	}
	switch o.SMTPStartTLS {
	case "required", "opportunistic", "none":
	default:
		p.add("outbound.smtp_starttls", `must be "required", "opportunistic" or "none", not %q`, o.SMTPStartTLS)
	}
	checkPositive(p, "outbound.give_up_after", o.GiveUpAfter)
	if o.SMTPConnections < 1 || o.SMTPConnections > 100 {
		p.add("outbound.smtp_connections", "must be from 1 to 100 (sessions kept open with the smarthost), not %d", o.SMTPConnections)
	}
}

func (c *Config) validateLifecycle(p *problems, inFile func(string) bool) {
	l := &c.Lifecycle
	if l.PendingCloseDays < 0 {
		p.add("lifecycle.pending_close_days", "must be 0 (never close automatically) or more days, not %d", l.PendingCloseDays)
	}
	if l.ReminderDaysBeforeClose < 0 {
		p.add("lifecycle.reminder_days_before_close", "must be 0 or more days, not %d", l.ReminderDaysBeforeClose)
	} else if l.PendingCloseDays > 0 && l.ReminderDaysBeforeClose >= l.PendingCloseDays {
		if inFile("lifecycle.reminder_days_before_close") || !inFile("lifecycle.pending_close_days") {
			p.add("lifecycle.reminder_days_before_close", "%d must be less than pending_close_days (%d), so the customer is reminded before the ticket closes",
				l.ReminderDaysBeforeClose, l.PendingCloseDays)
		} else {
			p.add("lifecycle.pending_close_days", "%d must be more than reminder_days_before_close (%d by default), so the customer is reminded before the ticket closes; or set reminder_days_before_close lower",
				l.PendingCloseDays, l.ReminderDaysBeforeClose)
		}
	}
	checkPositive(p, "lifecycle.scan_interval", l.ScanInterval)
}

func (c *Config) validateAgents(p *problems) {
	seen := make(map[string]int)
	for i, a := range c.Agents {
		key := fmt.Sprintf("agents[%d].email", i)
		if a.Email == "" {
			p.add(key, `is required, e.g. email = "ana@example.com"`)
			continue
		}
		if err := checkAddress(a.Email); err != "" {
			p.add(key, "%s", err)
			continue
		}
		lower := strings.ToLower(a.Email)
		if j, dup := seen[lower]; dup {
			p.add(key, "%s is already agents[%d]", a.Email, j)
			continue
		}
		seen[lower] = i
	}
}

func (c *Config) validateMailboxes(p *problems) {
	if len(c.Mailboxes) == 0 {
		p.add("mailboxes", `at least one [[mailboxes]] entry is required, with address = "soporte@example.com" and agents = [...]`)
	}
	seen := make(map[string]int)
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		key := fmt.Sprintf("mailboxes[%d]", i)
		switch {
		case m.Address == "":
			p.add(key+".address", `is required, e.g. address = "soporte@example.com"`)
		case checkAddress(m.Address) != "":
			p.add(key+".address", "%s", checkAddress(m.Address))
		default:
			local, _, _ := strings.Cut(m.Address, "@")
			lower := strings.ToLower(m.Address)
			if strings.Contains(local, "+") {
				p.add(key+".address", "must not contain '+' before the @: ticketd adds +TOKEN itself for replies")
			} else if j, dup := seen[lower]; dup {
				p.add(key+".address", "%s is already mailboxes[%d]", m.Address, j)
			} else if c.Agent(m.Address) != nil {
				p.add(key+".address", "%s is also an agent; a mailbox cannot be an agent, or its own mails would loop", m.Address)
			}
			seen[lower] = i
		}

		if m.Language != "" {
			checkLanguage(p, key+".language", m.Language)
		} else {
			m.Language = c.Server.Language
		}

		if len(m.Agents) == 0 {
			p.add(key+".agents", `needs at least one agent email, e.g. agents = ["ana@example.com"], each also listed under [[agents]]`)
		}
		listed := make(map[string]bool)
		for j, a := range m.Agents {
			akey := fmt.Sprintf("%s.agents[%d]", key, j)
			switch {
			case c.Agent(a) == nil:
				p.add(akey, "%q is not listed under [[agents]]", a)
			case listed[strings.ToLower(a)]:
				p.add(akey, "%s is listed twice", a)
			}
			listed[strings.ToLower(a)] = true
		}

		c.validateMailboxLifecycle(p, key, m)
	}
}

// validateMailboxLifecycle checks a mailbox's overrides of [lifecycle]
// together with the values it inherits.
func (c *Config) validateMailboxLifecycle(p *problems, key string, m *Mailbox) {
	if m.PendingCloseDays == nil && m.ReminderDaysBeforeClose == nil {
		return // same as [lifecycle], already checked there
	}
	closeKey, remindKey := key+".pending_close_days", key+".reminder_days_before_close"
	if m.PendingCloseDays != nil && *m.PendingCloseDays < 0 {
		p.add(closeKey, "must be 0 (never close automatically) or more days, not %d", *m.PendingCloseDays)
		return
	}
	if m.ReminderDaysBeforeClose != nil && *m.ReminderDaysBeforeClose < 0 {
		p.add(remindKey, "must be 0 or more days, not %d", *m.ReminderDaysBeforeClose)
		return
	}
	closeDays, remindDays := m.CloseDays(c), m.ReminderDays(c)
	if closeDays <= 0 || remindDays < closeDays {
		return
	}
	if m.ReminderDaysBeforeClose != nil {
		from := ""
		if m.PendingCloseDays == nil {
			from = " from [lifecycle]"
		}
		p.add(remindKey, "%d must be less than pending_close_days (%d%s), so the customer is reminded before the ticket closes",
			remindDays, closeDays, from)
		return
	}
	// The reminder is inherited, so name the override that broke it.
	p.add(closeKey, "%d must be more than reminder_days_before_close (%d from [lifecycle]), so the customer is reminded before the ticket closes; or set reminder_days_before_close for this mailbox too",
		closeDays, remindDays)
}

func (c *Config) validateIMAP(p *problems) {
	type source struct{ addr, user, folder string }
	seen := make(map[source]int)
	for i, m := range c.IMAP {
		key := fmt.Sprintf("imap[%d]", i)
		host := ""
		if m.Addr == "" {
			p.add(key+".addr", `is required, e.g. addr = "imap.example.com:993"`)
		} else if err := checkHostPort(m.Addr, "imap.example.com:993"); err != "" {
			p.add(key+".addr", "%s", err)
		} else {
			host, _, _ = net.SplitHostPort(m.Addr)
			if host == "" {
				p.add(key+".addr", "needs a host name, e.g. \"imap.example.com:993\"")
			}
		}
		switch m.TLS {
		case "implicit", "starttls":
		case "none":
			if host != "" && !isLoopback(host) {
				p.add(key+".tls", `"none" is only allowed for a loopback address such as 127.0.0.1, so the password never crosses a network in clear; use "implicit" or "starttls" for %s`, host)
			}
		default:
			p.add(key+".tls", `must be "implicit" (port 993), "starttls" (port 143) or "none" (loopback only), not %q`, m.TLS)
		}
		if m.Username == "" {
			p.add(key+".username", "is required")
		}
		if m.Folder == "" {
			p.add(key+".folder", `must not be empty; the usual folder is "INBOX"`)
		}
		switch {
		case m.Mailbox == "":
			p.add(key+".mailbox", "is required: the address of the [[mailboxes]] entry this account feeds")
		case c.Mailbox(m.Mailbox) == nil:
			p.add(key+".mailbox", "%q is not a configured mailbox; configured: %s", m.Mailbox, strings.Join(c.MailboxAddresses(), ", "))
		}
		switch after := m.After; {
		case after == "seen" || after == "delete":
		case strings.HasPrefix(after, "move:"):
			folder := strings.TrimPrefix(after, "move:")
			if folder == "" {
				p.add(key+".after", `"move:" needs a folder name, e.g. "move:Archive"`)
			} else if folder == m.Folder {
				p.add(key+".after", "moves mail into the folder it is fetched from (%s); choose another folder", folder)
			}
		default:
			p.add(key+".after", `must be "seen", "delete" or "move:FOLDER", not %q`, after)
		}
		checkPositive(p, key+".poll_interval", m.PollInterval)
		if m.Quarantine == "" {
			p.add(key+".quarantine", "must name a folder for mail ticketd cannot take, e.g. \"ticketd-quarantine\"")
		}
		if m.BacklogDays < 0 {
			p.add(key+".backlog_days", "must be 0 or more days, not %d", m.BacklogDays)
		}
		src := source{strings.ToLower(m.Addr), m.Username, m.Folder}
		if j, dup := seen[src]; dup && m.Addr != "" {
			p.add(key, "fetches the same folder of the same account as imap[%d]", j)
		}
		seen[src] = i
	}
}

func checkPositive(p *problems, key string, d Duration) {
	if d.Duration <= 0 {
		p.add(key, `must be a duration greater than 0, e.g. "1m", not %q`, d.Duration.String())
	}
}

func checkLanguage(p *problems, key, lang string) {
	for _, l := range languages {
		if lang == l {
			return
		}
	}
	p.add(key, "must be one of %s, not %q", strings.Join(languages, ", "), lang)
}

// checkHostname accepts a DNS name of letters, digits and hyphens, which is
// what EHLO and a Message-ID's right-hand side may carry.
func checkHostname(h string) string {
	switch {
	case h == "":
		return "must not be empty"
	case len(h) > 253:
		return "is longer than 253 characters"
	case strings.HasSuffix(h, "."):
		return fmt.Sprintf("%q must not end with a dot", h)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Sprintf("%q is an IP address, not a domain name", h)
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Sprintf("%q is not a valid domain name", h)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf("%q is not a valid domain name (letters, digits, hyphens and dots only)", h)
			}
		}
	}
	return ""
}

func checkBaseURL(s string) string {
	const want = `must be an absolute http or https URL without query, e.g. "https://tickets.example.com"`
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return want
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%s, not %q", want, s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%s; %q has no host", want, s)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Sprintf("%s; %q has a query", want, s)
	case u.Fragment != "":
		return fmt.Sprintf("%s; %q has a #fragment", want, s)
	case u.User != nil:
		return fmt.Sprintf("%s; it must not contain a user or password", want)
	}
	return ""
}

// checkHostPort accepts "host:port" and ":port"; the port must be numeric so
// a typo is caught here rather than as a confusing listen error.
func checkHostPort(s, example string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf(`%q is not host:port, e.g. %q`, s, example)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Sprintf("%q has an invalid host", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q has an invalid port; use a number from 0 to 65535", s)
	}
	return ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkAddress accepts a bare address (no display name, no angle brackets),
// since these are compared with envelope addresses.
func checkAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Sprintf("%q is not a plain email address such as \"ana@example.com\"", s)
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	if checkHostname(domain) != "" {
		return fmt.Sprintf("%q does not have a valid domain", s)
	}
	return ""
}

func (c *Config) validateStore(p *problems) {
	st := &c.Store
	switch st.Driver {
	case DriverSQLite:
		if st.DSN != "" && !p.has("store.dsn") {
			p.add("store.dsn", `is only for driver = "postgres"; with sqlite the database is data_dir/ticketd.db`)
		}
	case DriverPostgres:
		if p.has("store.dsn") {
			return
		}
		if st.DSN == "" {
			p.add("store.dsn", `missing; set dsn = "postgres://user@host:5432/ticketd?sslmode=verify-full" (or "env:VAR")`)
			return
		}
		if msg := checkDSN(st.DSN); msg != "" {
			p.add("store.dsn", "%s", msg)
		}
	default:
		p.add("store.driver", `must be "sqlite" or "postgres", not %q`, st.Driver)
	}
}

// sslModes are libpq's.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// checkDSN checks a PostgreSQL URL as far as it can be without
// connecting. Its text never repeats a password.
func checkDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return `must be a URL such as "postgres://ticketd@db.example.com:5432/ticketd?sslmode=verify-full"`
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return "names no host: write postgres://user@HOST:5432/database"
	}
	if u.Port() != "" {
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q is not a port number", u.Port())
		}
	}
	if strings.Trim(u.Path, "/") == "" {
		return "names no database: write postgres://user@host:5432/DATABASE"
	}
	if u.User == nil || u.User.Username() == "" {
		return "names no user: write postgres://USER@host:5432/database (the password, if any, in PGPASSWORD, ~/.pgpass or the URL)"
	}
	if m := u.Query().Get("sslmode"); m != "" {
		ok := false
		for _, v := range sslModes {
			ok = ok || m == v
		}
		if !ok {
			return fmt.Sprintf("sslmode %q is not one of %s", m, strings.Join(sslModes, ", "))
		}
	}
	return ""
}

// RedactDSN returns dsn with its password, if any, replaced by "xxxxx".
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
