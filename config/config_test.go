package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file: everything else has a default.
const minimal = `
[[mailboxes]]
address = "soporte@example.com"
agents = ["ana@example.com"]

[[agents]]
email = "ana@example.com"
`

// mustParse parses src as if it were the file dir/ticketd.toml.
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), filepath.Join(t.TempDir(), "ticketd.toml"))
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return c
}

// problemsOf parses src and returns its problems, failing if it parsed.
func problemsOf(t *testing.T, src string) Errors {
	t.Helper()
	_, err := Parse([]byte(src), "ticketd.toml")
	if err == nil {
		t.Fatalf("Parse succeeded, want problems")
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	return errs
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal)
	dir := filepath.Dir(c.Path)

	want := defaults()
	want.Path = c.Path
	want.Server.DataDir = filepath.Join(dir, "var")
	want.Server.Location = time.UTC
	want.Outbound.Dir = filepath.Join(dir, "var", "outbox")
	want.Mailboxes = []Mailbox{{Address: "soporte@example.com", Language: "es", Agents: []string{"ana@example.com"}}}
	want.Agents = []Agent{{Email: "ana@example.com"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}

	// The documented defaults, spelled out so a change to defaults() that
	// breaks the schema's promise fails here.
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Server.Hostname, "localhost"},
		{"base_url", c.Server.BaseURL, "http://127.0.0.1:8080"},
		{"language", c.Server.Language, "es"},
		{"time_zone", c.Server.TimeZone, "UTC"},
		{"templates_dir", c.Server.TemplatesDir, ""},
		{"autoreply_limit_per_hour", c.Server.AutoreplyLimitPerHour, 5},
		{"smtp.listen", c.SMTP.Listen, "127.0.0.1:2525"},
		{"lmtp_listen", c.SMTP.LMTPListen, ""},
		{"max_message_bytes", c.SMTP.MaxMessageBytes, int64(26214400)},
		{"read_timeout", c.SMTP.ReadTimeout.Duration, 5 * time.Minute},
		{"data_timeout", c.SMTP.DataTimeout.Duration, 30 * time.Minute},
		{"max_connections", c.SMTP.MaxConnections, 200},
		{"max_connections_per_ip", c.SMTP.MaxConnectionsPerIP, 20},
		{"trusted_authserv_id", c.Security.TrustedAuthservID, ""},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8080"},
		{"transport", c.Outbound.Transport, "dir"},
		{"smtp_starttls", c.Outbound.SMTPStartTLS, "opportunistic"},
		{"give_up_after", c.Outbound.GiveUpAfter.Duration, 72 * time.Hour},
		{"smtp_connections", c.Outbound.SMTPConnections, 4},
		{"pending_close_days", c.Lifecycle.PendingCloseDays, 30},
		{"reminder_days_before_close", c.Lifecycle.ReminderDaysBeforeClose, 7},
		{"scan_interval", c.Lifecycle.ScanInterval.Duration, time.Minute},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestIMAPDefaults(t *testing.T) {
	t.Setenv("TICKETD_TEST_PW", "s3cret")
	c := mustParse(t, minimal+`
[[imap]]
addr = "imap.example.com:993"
username = "soporte@example.com"
password = "env:TICKETD_TEST_PW"
mailbox = "soporte@example.com"
`)
	want := defaultIMAP()
	want.Addr = "imap.example.com:993"
	want.Username = "soporte@example.com"
	want.Password = "s3cret"
	want.Mailbox = "soporte@example.com"
	if !reflect.DeepEqual(c.IMAP, []IMAP{want}) {
		t.Errorf("got  %+v\nwant %+v", c.IMAP, []IMAP{want})
	}
	if want.TLS != "implicit" || want.Folder != "INBOX" || want.After != "seen" ||
		want.PollInterval.Duration != time.Minute || want.Quarantine != "ticketd-quarantine" || want.BacklogDays != 14 {
		t.Errorf("imap defaults differ from the schema: %+v", want)
	}
}

func TestExampleFileLoads(t *testing.T) {
	c, err := Load("../config.example.toml")
	if err != nil {
		t.Fatalf("config.example.toml does not load:\n%v", err)
	}
	repo, _ := filepath.Abs("..")
	if got, want := c.Server.DataDir, filepath.Join(repo, "var"); got != want {
		t.Errorf("data_dir = %q, want %q", got, want)
	}
	if got, want := c.Outbound.Dir, filepath.Join(repo, "var", "outbox"); got != want {
		t.Errorf("outbound.dir = %q, want %q", got, want)
	}
	if c.Outbound.Transport != "dir" || c.SMTP.Listen != "127.0.0.1:2525" || c.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("listeners/transport = %q %q %q", c.Outbound.Transport, c.SMTP.Listen, c.HTTP.Listen)
	}
	if got := c.MailboxAddresses(); !reflect.DeepEqual(got, []string{"soporte@example.com"}) {
		t.Errorf("mailboxes = %v", got)
	}
	m := c.Mailbox("soporte@example.com")
	if m.Language != "es" || !reflect.DeepEqual(m.Agents, []string{"ana@example.com", "luis@example.com"}) {
		t.Errorf("mailbox = %+v", m)
	}
	if len(c.Agents) != 2 || c.Agent("ana@example.com").Name != "Ana Pérez" {
		t.Errorf("agents = %+v", c.Agents)
	}
	if len(c.IMAP) != 0 {
		t.Errorf("example has %d [[imap]] entries, want none", len(c.IMAP))
	}
	if m.CloseDays(c) != 30 || m.ReminderDays(c) != 7 {
		t.Errorf("close/remind = %d/%d", m.CloseDays(c), m.ReminderDays(c))
	}
}

// TestExampleFileIMAPBlock checks that the commented-out [[imap]] block is
// valid once uncommented, so a newcomer who does just that gets a working file.
func TestExampleFileIMAPBlock(t *testing.T) {
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	i := strings.Index(src, "# [[imap]]")
	if i < 0 {
		t.Fatal("example has no commented [[imap]] block")
	}
	var b strings.Builder
	b.WriteString(src[:i])
	for _, line := range strings.Split(src[i:], "\n") {
		b.WriteString(strings.TrimPrefix(line, "# "))
		b.WriteByte('\n')
	}
	t.Setenv("TICKETD_IMAP_PASSWORD", "pw")
	c := mustParse(t, b.String())
	if len(c.IMAP) != 1 || c.IMAP[0].Password != "pw" {
		t.Errorf("imap = %+v", c.IMAP)
	}
}

func TestLookups(t *testing.T) {
	c := mustParse(t, `
[[mailboxes]]
address = "Soporte@Example.com"
agents = ["ana@example.com"]
[[mailboxes]]
address = "ventas@example.com"
language = "en"
agents = ["ANA@example.com"]
[[agents]]
email = "ana@example.com"
name = "Ana"
`)
	if m := c.Mailbox("soporte@EXAMPLE.com"); m == nil || m.Address != "Soporte@Example.com" {
		t.Errorf("Mailbox ignoring case = %+v", m)
	}
	if m := c.Mailbox("nobody@example.com"); m != nil {
		t.Errorf("Mailbox(unknown) = %+v, want nil", m)
	}
	if a := c.Agent("Ana@Example.COM"); a == nil || a.Name != "Ana" {
		t.Errorf("Agent ignoring case = %+v", a)
	}
	if a := c.Agent("luis@example.com"); a != nil {
		t.Errorf("Agent(unknown) = %+v, want nil", a)
	}
	if got := c.MailboxAddresses(); !reflect.DeepEqual(got, []string{"Soporte@Example.com", "ventas@example.com"}) {
		t.Errorf("MailboxAddresses = %v", got)
	}
	if got := c.Mailbox("ventas@example.com").Language; got != "en" {
		t.Errorf("mailbox language = %q, want its own", got)
	}
}

func TestCloseAndReminderDays(t *testing.T) {
	c := mustParse(t, `
[lifecycle]
pending_close_days = 20
reminder_days_before_close = 5

[[mailboxes]]
address = "inherits@example.com"
agents = ["ana@example.com"]

[[mailboxes]]
address = "both@example.com"
agents = ["ana@example.com"]
pending_close_days = 10
reminder_days_before_close = 2

[[mailboxes]]
address = "close-only@example.com"
agents = ["ana@example.com"]
pending_close_days = 60

[[mailboxes]]
address = "never@example.com"
agents = ["ana@example.com"]
pending_close_days = 0

[[agents]]
email = "ana@example.com"
`)
	tests := []struct {
		mailbox       string
		close, remind int
	}{
		{"inherits@example.com", 20, 5},
		{"both@example.com", 10, 2},
		{"close-only@example.com", 60, 5},
		{"never@example.com", 0, 5},
	}
	for _, tt := range tests {
		m := c.Mailbox(tt.mailbox)
		if got := m.CloseDays(c); got != tt.close {
			t.Errorf("%s: CloseDays = %d, want %d", tt.mailbox, got, tt.close)
		}
		if got := m.ReminderDays(c); got != tt.remind {
			t.Errorf("%s: ReminderDays = %d, want %d", tt.mailbox, got, tt.remind)
		}
	}
}

func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	if err := os.MkdirAll(filepath.Join(etc, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "imap.pw"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
[server]
data_dir = "data"
templates_dir = "templates"
[smtp]
lmtp_listen = "unix:run/lmtp.sock"
[outbound]
dir = "/abs/outbox"
[[imap]]
addr = "imap.example.com:993"
username = "u"
password_file = "imap.pw"
mailbox = "soporte@example.com"
` + minimal
	path := filepath.Join(etc, "ticketd.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// Run from elsewhere, as `ticketd inject` from a Postfix pipe would.
	t.Chdir(dir)

	c, err := Load("etc/ticketd.toml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"data_dir", c.Server.DataDir, filepath.Join(etc, "data")},
		{"templates_dir", c.Server.TemplatesDir, filepath.Join(etc, "templates")},
		{"lmtp_listen", c.SMTP.LMTPListen, "unix:" + filepath.Join(etc, "run", "lmtp.sock")},
		{"outbound.dir (absolute stays)", c.Outbound.Dir, "/abs/outbox"},
		{"password_file", c.IMAP[0].PasswordFile, filepath.Join(etc, "imap.pw")},
		{"password (trimmed)", c.IMAP[0].Password, "from-file"},
		{"Path", c.Path, "etc/ticketd.toml"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("good.pw", "  hunter2 \n")
	write("empty.pw", "\n")
	t.Setenv("TICKETD_PW_SET", "from-env")
	t.Setenv("TICKETD_PW_EMPTY", "")

	imap := func(password string) string {
		return minimal + "[[imap]]\naddr = \"imap.example.com:993\"\nusername = \"u\"\nmailbox = \"soporte@example.com\"\n" + password + "\n"
	}
	tests := []struct {
		name     string
		password string
		want     string // resolved password when ok
		wantKey  string // problem key when not
		wantMsg  string
	}{
		{"literal", `password = "plain"`, "plain", "", ""},
		{"env", `password = "env:TICKETD_PW_SET"`, "from-env", "", ""},
		{"file trimmed", `password_file = "good.pw"`, "hunter2", "", ""},
		{"env unset", `password = "env:TICKETD_PW_UNSET"`, "", "imap[0].password", "TICKETD_PW_UNSET is not set"},
		{"env empty", `password = "env:TICKETD_PW_EMPTY"`, "", "imap[0].password", "TICKETD_PW_EMPTY is empty"},
		{"env no name", `password = "env:"`, "", "imap[0].password", "needs a variable name"},
		{"file missing", `password_file = "nope.pw"`, "", "imap[0].password_file", "nope.pw"},
		{"file empty", `password_file = "empty.pw"`, "", "imap[0].password_file", "is empty"},
		{"both", "password = \"x\"\npassword_file = \"good.pw\"", "", "imap[0].password_file", "not both"},
		{"none", "", "", "imap[0].password", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(imap(tt.password)), filepath.Join(dir, "ticketd.toml"))
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.IMAP[0].Password; got != tt.want {
					t.Errorf("password = %q, want %q", got, tt.want)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			if errs[0].Key != tt.wantKey || !strings.Contains(errs[0].Msg, tt.wantMsg) {
				t.Errorf("got %q, want key %s and %q", errs[0], tt.wantKey, tt.wantMsg)
			}
			if errs[0].Line == 0 {
				t.Errorf("problem %q has no line", errs[0])
			}
		})
	}
}

func TestOutboundPasswordFromEnv(t *testing.T) {
	t.Setenv("TICKETD_SMTP_PW", "relay-secret")
	c := mustParse(t, minimal+`
[outbound]
transport = "smtp"
smtp_addr = "smtp.example.com:587"
smtp_username = "relay"
smtp_password = "env:TICKETD_SMTP_PW"
`)
	if c.Outbound.SMTPPassword != "relay-secret" {
		t.Errorf("smtp_password = %q", c.Outbound.SMTPPassword)
	}
	if s := c.Summary(); strings.Contains(s, "relay-secret") {
		t.Errorf("Summary leaks the password:\n%s", s)
	}
}

func TestSummary(t *testing.T) {
	t.Setenv("TICKETD_TEST_PW", "imap-secret")
	c := mustParse(t, minimal+`
[http]
listen = ""
[[imap]]
addr = "imap.example.com:993"
username = "soporte@example.com"
password = "env:TICKETD_TEST_PW"
mailbox = "soporte@example.com"
`)
	s := c.Summary()
	for _, want := range []string{"soporte@example.com", "ana@example.com", "127.0.0.1:2525", "status page", ".eml", "imap.example.com:993"} {
		if !strings.Contains(s, want) {
			t.Errorf("Summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "imap-secret") {
		t.Errorf("Summary leaks the IMAP password:\n%s", s)
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("90s")); err != nil || d.Duration != 90*time.Second {
		t.Errorf("90s = %v, %v", d.Duration, err)
	}
	if err := d.UnmarshalText([]byte("3d")); err == nil || !strings.Contains(err.Error(), "72h") {
		t.Errorf("3d: err = %v, want a hint to use hours", err)
	}
	if b, _ := (Duration{time.Hour}).MarshalText(); string(b) != "1h0m0s" {
		t.Errorf("MarshalText = %q", b)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
}

func TestParseWithoutPathKeepsRelativePaths(t *testing.T) {
	c, err := Parse([]byte(minimal), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.DataDir != "var" || c.Outbound.Dir != "var/outbox" {
		t.Errorf("data_dir %q, outbound.dir %q: want them as written", c.Server.DataDir, c.Outbound.Dir)
	}
}
