// Package config reads ticketd's TOML configuration file: the schema, its
// defaults, and validation that names every wrong key with its line.
//
// Keys in problems are written as in TOML, with arrays of tables indexed from
// zero: "mailboxes[0].language" is the language of the first [[mailboxes]].
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	Server    Server    `toml:"server"`
	Store     Store     `toml:"store"`
	SMTP      SMTP      `toml:"smtp"`
	HTTP      HTTP      `toml:"http"`
	Outbound  Outbound  `toml:"outbound"`
	Lifecycle Lifecycle `toml:"lifecycle"`
	Mailboxes []Mailbox `toml:"mailboxes"`
	Agents    []Agent   `toml:"agents"`
	IMAP      []IMAP    `toml:"imap"`
	Security  Security  `toml:"security"`
	AgentIMAP AgentIMAP `toml:"agent_imap"`
	Path      string    `toml:"-"` // the file it came from
}

// Server holds settings that apply to the whole daemon.
type Server struct {
	Hostname              string `toml:"hostname"`
	DataDir               string `toml:"data_dir"`
	BaseURL               string `toml:"base_url"`
	Language              string `toml:"language"`
	TimeZone              string `toml:"time_zone"`
	TemplatesDir          string `toml:"templates_dir"`
	AutoreplyLimitPerHour int    `toml:"autoreply_limit_per_hour"`
	LogFormat             string `toml:"log_format"` // text | json
	LogLevel              string `toml:"log_level"`  // debug | info | warn | error
	// Admins are mailed about trouble an admin must fix (an IMAP account
	// failing for half an hour, and its recovery).
	Admins []string `toml:"admins"`
	// OldKeysValidFor is how long a reply key replaced by `keys rotate`
	// still verifies the addresses it signed.
	OldKeysValidFor Duration `toml:"old_keys_valid_for"`
	// DigestTime is when each agent gets the daily list of what waits for
	// her ("08:00", in TimeZone); empty: no digest.
	DigestTime string         `toml:"digest_time"`
	Location   *time.Location `toml:"-"` // loaded from TimeZone
}

// Store chooses the database engine.
type Store struct {
	// Driver is "sqlite" (data_dir/ticketd.db, the default) or "postgres".
	Driver string `toml:"driver"`
	// DSN is the PostgreSQL URL, postgres://user@host:5432/db?sslmode=...
	// (after Load: the URL itself, also when given as "env:VAR").
	DSN string `toml:"dsn"`
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// SMTP configures the inbound SMTP and LMTP listeners.
type SMTP struct {
	Listen          string `toml:"listen"`
	LMTPListen      string `toml:"lmtp_listen"`
	MaxMessageBytes int64  `toml:"max_message_bytes"`
	// TLSCertFile and TLSKeyFile (PEM) turn on STARTTLS for SMTP, which
	// mail servers expect on port 25.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// ReadTimeout is the longest silence allowed between two reads, and
	// between two commands; DataTimeout bounds one whole message transfer.
	ReadTimeout Duration `toml:"read_timeout"`
	DataTimeout Duration `toml:"data_timeout"`
	// MaxConnections and MaxConnectionsPerIP bound open SMTP/LMTP
	// connections; beyond them a client hears 421 and is disconnected.
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
}

// Security holds what ticketd trusts beyond its own reply addresses.
type Security struct {
	// TrustedAuthservID, when set, is the authserv-id of the receiving
	// server whose Authentication-Results headers (RFC 8601) ticketd
	// believes; agent actions then also need an aligned dkim=pass or
	// spf=pass under that id.
	TrustedAuthservID string `toml:"trusted_authserv_id"`
}

// HTTP configures the status page listener.
type HTTP struct {
	Listen string `toml:"listen"` // empty disables the status page
	// MetricsListen serves Prometheus /metrics on its own listener; empty: off.
	MetricsListen string `toml:"metrics_listen"`
}

// Outbound configures how outgoing mail leaves the outbox.
type Outbound struct {
	Transport    string   `toml:"transport"`
	Dir          string   `toml:"dir"`
	SMTPAddr     string   `toml:"smtp_addr"`
	SMTPUsername string   `toml:"smtp_username"`
	SMTPPassword string   `toml:"smtp_password"`
	SMTPStartTLS string   `toml:"smtp_starttls"`
	GiveUpAfter  Duration `toml:"give_up_after"`
	// SMTPConnections is how many sessions with the smarthost stay open
	// and carry mail at once.
	SMTPConnections int `toml:"smtp_connections"`
	// SMTPAuth is "plain" (smtp_username and smtp_password) or "xoauth2"
	// (smtp_username with the oauth2_* keys below).
	SMTPAuth string `toml:"smtp_auth"`
	OAuth2Keys
}

// Lifecycle holds the default reminder and auto-close delays.
type Lifecycle struct {
	PendingCloseDays        int      `toml:"pending_close_days"`
	ReminderDaysBeforeClose int      `toml:"reminder_days_before_close"`
	ScanInterval            Duration `toml:"scan_interval"`
}

// Mailbox is one support address customers write to.
type Mailbox struct {
	Address                 string   `toml:"address"`
	Name                    string   `toml:"name"`
	Language                string   `toml:"language"` // server.language when not set
	Agents                  []string `toml:"agents"`
	PendingCloseDays        *int     `toml:"pending_close_days"`         // nil: [lifecycle]
	ReminderDaysBeforeClose *int     `toml:"reminder_days_before_close"` // nil: [lifecycle]
}

// AgentIMAP configures the agents' desk: an IMAP server that shows each
// agent the queues of the mailboxes she serves as folders.
type AgentIMAP struct {
	Listen string `toml:"listen"` // empty: no desk
	// TLSCertFile and TLSKeyFile (PEM): STARTTLS is offered, or with TLS
	// "implicit" every connection is TLS from the start.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	TLS         string `toml:"tls"` // "starttls" (default) or "implicit"
}

// Agent is a person who answers tickets from their own mail client.
type Agent struct {
	Email string `toml:"email"`
	Name  string `toml:"name"`
}

// IMAP is one mailbox fetched over IMAP and fed into a [[mailboxes]] entry.
type IMAP struct {
	Addr         string   `toml:"addr"`
	TLS          string   `toml:"tls"`
	Username     string   `toml:"username"`
	Password     string   `toml:"password"` // after Load: the secret itself, whatever its source
	PasswordFile string   `toml:"password_file"`
	Folder       string   `toml:"folder"`
	Mailbox      string   `toml:"mailbox"`
	After        string   `toml:"after"`
	PollInterval Duration `toml:"poll_interval"`
	Quarantine   string   `toml:"quarantine"`
	BacklogDays  int      `toml:"backlog_days"`
	// Auth is "password" or "xoauth2" (with the oauth2_* keys).
	Auth string `toml:"auth"`
	OAuth2Keys
}

func defaults() *Config {
	return &Config{
		Server: Server{
			Hostname:              "localhost",
			DataDir:               "var",
			BaseURL:               "http://127.0.0.1:8080",
			Language:              "es",
			TimeZone:              "UTC",
			AutoreplyLimitPerHour: 5,
			LogFormat:             "text",
			LogLevel:              "info",
			OldKeysValidFor:       Duration{180 * 24 * time.Hour},
		},
		Store: Store{Driver: DriverSQLite},
		SMTP: SMTP{
			Listen:              "127.0.0.1:2525",
			MaxMessageBytes:     25 << 20,
			ReadTimeout:         Duration{5 * time.Minute},
			DataTimeout:         Duration{30 * time.Minute},
			MaxConnections:      200,
			MaxConnectionsPerIP: 20,
		},
		HTTP:      HTTP{Listen: "127.0.0.1:8080"},
		AgentIMAP: AgentIMAP{TLS: "starttls"},
		Outbound: Outbound{
			Transport:       "dir",
			Dir:             "var/outbox",
			SMTPStartTLS:    "opportunistic",
			GiveUpAfter:     Duration{72 * time.Hour},
			SMTPAuth:        "plain",
			SMTPConnections: 4,
		},
		Lifecycle: Lifecycle{
			PendingCloseDays:        30,
			ReminderDaysBeforeClose: 7,
			ScanInterval:            Duration{time.Minute},
		},
	}
}

func defaultIMAP() IMAP {
	return IMAP{
		TLS:          "implicit",
		Folder:       "INBOX",
		After:        "seen",
		PollInterval: Duration{time.Minute},
		Quarantine:   "ticketd-quarantine",
		BacklogDays:  14,
		Auth:         "password",
	}
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse applies the defaults, then data, then validates the result. path is
// the file data came from: it prefixes problems, and relative paths in the
// file are resolved against its directory, so a command started from another
// working directory (a Postfix pipe running `ticketd inject`) finds the same
// data. With an empty path, relative paths stay relative.
//
// Parse also resolves IMAP passwords given as "env:VAR" or password_file
// into IMAP.Password, and time_zone into Server.Location. On failure the
// error is an Errors listing every problem found.
func Parse(data []byte, path string) (*Config, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Errors{{
				File: path,
				Line: pe.Position.Line,
				Msg:  fmt.Sprintf("syntax error at column %d: %s", pe.Position.Col, pe.Message),
			}}
		}
		return nil, Errors{{File: path, Msg: err.Error()}}
	}

	c := defaults()
	c.Path = path
	p := &problems{}
	(&decoder{p: p}).table("", raw, reflect.ValueOf(c).Elem())
	c.resolvePaths(path)
	c.resolveSecrets(p)
	lines := keyLines(data)
	c.validate(p, func(key string) bool { _, ok := lines[key]; return ok })

	if len(p.list) == 0 {
		return c, nil
	}
	errs := make(Errors, len(p.list))
	for i, pr := range p.list {
		pr.File = path
		if pr.Line == 0 {
			pr.Line = lineOf(lines, pr.Key)
		}
		errs[i] = pr
	}
	// File order reads best; problems with no line (a missing section) last.
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	return nil, errs
}

// problems collects validation problems, at most one per key: a value that
// already failed to decode need not also be called invalid.
type problems struct {
	list []Problem
	seen map[string]bool
}

func (p *problems) add(key, format string, args ...any) {
	if p.seen[key] {
		return
	}
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	p.seen[key] = true
	p.list = append(p.list, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) has(key string) bool { return p.seen[key] }

// resolvePaths makes relative file paths relative to the config file's
// directory instead of the working directory.
func (c *Config) resolvePaths(path string) {
	if path == "" {
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	dir := filepath.Dir(abs)
	resolve := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	resolve(&c.Server.DataDir)
	resolve(&c.Server.TemplatesDir)
	resolve(&c.Outbound.Dir)
	resolve(&c.SMTP.TLSCertFile)
	resolve(&c.SMTP.TLSKeyFile)
	resolve(&c.AgentIMAP.TLSCertFile)
	resolve(&c.AgentIMAP.TLSKeyFile)
	if sock, ok := strings.CutPrefix(c.SMTP.LMTPListen, "unix:"); ok && sock != "" {
		resolve(&sock)
		c.SMTP.LMTPListen = "unix:" + sock
	}
	for i := range c.IMAP {
		resolve(&c.IMAP[i].PasswordFile)
		c.IMAP[i].OAuth2Keys.resolvePaths(resolve)
	}
	c.Outbound.OAuth2Keys.resolvePaths(resolve)
}

// resolveSecrets replaces "env:VAR" passwords and password_file with the
// secret itself, so the rest of ticketd sees one plain Password.
func (c *Config) resolveSecrets(p *problems) {
	for i := range c.IMAP {
		m := &c.IMAP[i]
		key := fmt.Sprintf("imap[%d]", i)
		switch {
		case m.Password != "" && m.PasswordFile != "":
			p.add(key+".password_file", "set either password or password_file, not both")
		case m.PasswordFile != "":
			data, err := os.ReadFile(m.PasswordFile)
			if err != nil {
				p.add(key+".password_file", "cannot read the password: %v", unwrapPathError(err))
				continue
			}
			m.Password = strings.TrimSpace(string(data))
			if m.Password == "" {
				p.add(key+".password_file", "%s is empty", m.PasswordFile)
			}
		case m.Password != "":
			if v, ok := strings.CutPrefix(m.Password, "env:"); ok {
				m.Password = resolveEnv(p, key+".password", v)
			}
		case m.Auth != "password":
			// No password: with "xoauth2" the oauth2_* keys stand for it
			// (another value is named wrong on its own).
		default:
			p.add(key+".password", `missing; set password, password = "env:VAR_NAME", or password_file`)
		}
	}
	if v, ok := strings.CutPrefix(c.Store.DSN, "env:"); ok {
		c.Store.DSN = resolveEnv(p, "store.dsn", v)
	}
	if v, ok := strings.CutPrefix(c.Outbound.SMTPPassword, "env:"); ok {
		c.Outbound.SMTPPassword = resolveEnv(p, "outbound.smtp_password", v)
	}
	for i := range c.IMAP {
		if c.IMAP[i].Auth == "xoauth2" {
			c.IMAP[i].OAuth2Keys.resolveSecret(p, fmt.Sprintf("imap[%d]", i))
		}
	}
	if c.Outbound.Transport == "smtp" && c.Outbound.SMTPAuth == "xoauth2" {
		c.Outbound.OAuth2Keys.resolveSecret(p, "outbound")
	}
}

func resolveEnv(p *problems, key, name string) string {
	if name == "" {
		p.add(key, `"env:" needs a variable name, as in "env:TICKETD_IMAP_PASSWORD"`)
		return ""
	}
	v, ok := os.LookupEnv(name)
	switch {
	case !ok:
		p.add(key, "environment variable %s is not set", name)
	case v == "":
		p.add(key, "environment variable %s is empty", name)
	}
	return v
}

// unwrapPathError keeps the path and the reason but drops the operation
// name ("open"), which means nothing to an admin.
func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// Mailbox returns the mailbox with the given address, ignoring case, or nil.
func (c *Config) Mailbox(address string) *Mailbox {
	for i := range c.Mailboxes {
		if strings.EqualFold(c.Mailboxes[i].Address, address) {
			return &c.Mailboxes[i]
		}
	}
	return nil
}

// Agent returns the agent with the given email address, ignoring case, or nil.
func (c *Config) Agent(email string) *Agent {
	for i := range c.Agents {
		if strings.EqualFold(c.Agents[i].Email, email) {
			return &c.Agents[i]
		}
	}
	return nil
}

// ServedBy returns the addresses of the mailboxes agent serves, sorted and
// in lower case.
func (c *Config) ServedBy(agent string) []string {
	var out []string
	for _, mb := range c.Mailboxes {
		for _, a := range mb.Agents {
			if strings.EqualFold(a, agent) {
				out = append(out, strings.ToLower(mb.Address))
			}
		}
	}
	sort.Strings(out)
	return out
}

// MailboxAddresses returns the address of every mailbox, in file order.
func (c *Config) MailboxAddresses() []string {
	out := make([]string, len(c.Mailboxes))
	for i, m := range c.Mailboxes {
		out[i] = m.Address
	}
	return out
}

// CloseDays is how many days a pending ticket of this mailbox waits before it
// is closed; 0 means never.
func (m Mailbox) CloseDays(c *Config) int {
	if m.PendingCloseDays != nil {
		return *m.PendingCloseDays
	}
	return c.Lifecycle.PendingCloseDays
}

// ReminderDays is how many days before the close the customer is reminded.
func (m Mailbox) ReminderDays(c *Config) int {
	if m.ReminderDaysBeforeClose != nil {
		return *m.ReminderDaysBeforeClose
	}
	return c.Lifecycle.ReminderDaysBeforeClose
}

// Summary describes the configuration in a few lines for `ticketd
// check-config`. It never includes a password.
func (c *Config) Summary() string {
	var b strings.Builder
	if c.Path != "" {
		fmt.Fprintf(&b, "config:    %s\n", c.Path)
	}
	fmt.Fprintf(&b, "hostname:  %s (data in %s, times in %s)\n", c.Server.Hostname, c.Server.DataDir, c.Server.TimeZone)
	if c.Store.Driver == DriverPostgres {
		fmt.Fprintf(&b, "store:     postgres %s\n", RedactDSN(c.Store.DSN))
	} else {
		fmt.Fprintf(&b, "store:     sqlite %s\n", filepath.Join(c.Server.DataDir, "ticketd.db"))
	}
	for _, m := range c.Mailboxes {
		name := ""
		if m.Name != "" {
			name = fmt.Sprintf(" %q", m.Name)
		}
		closing := "never auto-closes"
		if d := m.CloseDays(c); d > 0 {
			closing = fmt.Sprintf("closes after %d days, reminder %d days before", d, m.ReminderDays(c))
		}
		fmt.Fprintf(&b, "mailbox:   %s%s [%s] agents %s; %s\n", m.Address, name, m.Language, strings.Join(m.Agents, ", "), closing)
	}
	agents := make([]string, len(c.Agents))
	for i, a := range c.Agents {
		agents[i] = a.Email
		if a.Name != "" {
			agents[i] = fmt.Sprintf("%s <%s>", a.Name, a.Email)
		}
	}
	fmt.Fprintf(&b, "agents:    %s\n", strings.Join(agents, ", "))
	fmt.Fprintf(&b, "smtp:      %s", c.SMTP.Listen)
	if c.SMTP.LMTPListen != "" {
		fmt.Fprintf(&b, ", lmtp %s", c.SMTP.LMTPListen)
	}
	fmt.Fprintf(&b, " (max %d bytes)\n", c.SMTP.MaxMessageBytes)
	if c.HTTP.Listen == "" {
		b.WriteString("http:      off (no status page)\n")
	} else {
		fmt.Fprintf(&b, "http:      %s, links to %s\n", c.HTTP.Listen, c.Server.BaseURL)
	}
	switch c.Outbound.Transport {
	case "smtp":
		auth := "no auth"
		if c.Outbound.SMTPUsername != "" {
			auth = "as " + c.Outbound.SMTPUsername
		}
		if c.Outbound.SMTPAuth == "xoauth2" {
			auth += " with XOAUTH2 (" + tokenHost(c.Outbound.TokenURL) + ")"
		}
		fmt.Fprintf(&b, "outbound:  smtp %s (starttls %s, %s, %d connections), give up after %s\n", c.Outbound.SMTPAddr, c.Outbound.SMTPStartTLS, auth, c.Outbound.SMTPConnections, c.Outbound.GiveUpAfter.Duration)
	default:
		fmt.Fprintf(&b, "outbound:  .eml files in %s\n", c.Outbound.Dir)
	}
	if c.AgentIMAP.Listen != "" {
		tls := "no TLS: logins from loopback only"
		if c.AgentIMAP.TLSCertFile != "" {
			tls = "tls " + c.AgentIMAP.TLS
		}
		fmt.Fprintf(&b, "desk:      imap %s (%s)\n", c.AgentIMAP.Listen, tls)
	}
	if c.Server.DigestTime != "" {
		fmt.Fprintf(&b, "digest:    daily at %s %s\n", c.Server.DigestTime, c.Server.TimeZone)
	}
	for _, m := range c.IMAP {
		auth := ""
		if m.Auth == "xoauth2" {
			auth = ", XOAUTH2 (" + tokenHost(m.TokenURL) + ")"
		}
		fmt.Fprintf(&b, "imap:      %s@%s %s (tls %s%s) -> %s, then %s\n", m.Username, m.Addr, m.Folder, m.TLS, auth, m.Mailbox, m.After)
	}
	if c.HTTP.MetricsListen != "" {
		fmt.Fprintf(&b, "metrics:   %s/metrics\n", c.HTTP.MetricsListen)
	}
	if len(c.Server.Admins) > 0 {
		fmt.Fprintf(&b, "admins:    %s\n", strings.Join(c.Server.Admins, ", "))
	}
	fmt.Fprintf(&b, "logs:      %s, level %s\n", c.Server.LogFormat, c.Server.LogLevel)
	return b.String()
}

// Lang is the language of the mails and pages of this mailbox: its own,
// else the server's.
func (m Mailbox) Lang(c *Config) string {
	if m.Language != "" {
		return m.Language
	}
	return c.Server.Language
}

// DigestClock returns the hour and minute of server.digest_time; ok is
// false when there is no digest.
func (c *Config) DigestClock() (hour, minute int, ok bool) {
	t, err := time.Parse("15:04", c.Server.DigestTime)
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}
