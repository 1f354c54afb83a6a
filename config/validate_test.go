package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestEachProblemNamesKeyAndLine feeds one mistake at a time, on a known
// line, and checks the problem names the key, the line, and what is allowed.
func TestEachProblemNamesKeyAndLine(t *testing.T) {
	tests := []struct {
		name    string
		section string // a TOML fragment; its first line is line 1
		key     string
		line    int
		msg     string // part of the message
	}{
		{"hostname", "[server]\nhostname = \"tickets_example.com\"", "server.hostname", 2, "not a valid domain name"},
		{"hostname ip", "[server]\nhostname = \"10.0.0.1\"", "server.hostname", 2, "IP address"},
		{"hostname empty", "[server]\n\nhostname = \"\"", "server.hostname", 3, "must not be empty"},
		{"data_dir", "[server]\ndata_dir = \"\"", "server.data_dir", 2, "must not be empty"},
		{"base_url scheme", "[server]\nbase_url = \"ftp://x.example\"", "server.base_url", 2, "http or https"},
		{"base_url relative", "[server]\nbase_url = \"/status\"", "server.base_url", 2, "absolute"},
		{"base_url query", "[server]\nbase_url = \"https://x.example/?a=1\"", "server.base_url", 2, "query"},
		{"language", "[server]\nlanguage = \"de\"", "server.language", 2, "es, en, fr, pt, it"},
		{"time_zone", "[server]\ntime_zone = \"Mars/Olympus\"", "server.time_zone", 2, "IANA"},
		{"templates_dir", "[server]\ntemplates_dir = \"no-such-dir\"", "server.templates_dir", 2, "no-such-dir"},
		{"autoreply", "[server]\nautoreply_limit_per_hour = 0", "server.autoreply_limit_per_hour", 2, "at least 1"},
		{"store driver", "[store]\ndriver = \"mysql\"", "store.driver", 2, `"sqlite" or "postgres"`},
		{"store dsn missing", "[store]\ndriver = \"postgres\"", "store.dsn", 1, "missing"},
		{"store dsn not a url", "[store]\ndriver = \"postgres\"\ndsn = \"host=db user=t\"", "store.dsn", 3, "must be a URL"},
		{"store dsn no host", "[store]\ndriver = \"postgres\"\ndsn = \"postgres:///ticketd\"", "store.dsn", 3, "names no host"},
		{"store dsn no database", "[store]\ndriver = \"postgres\"\ndsn = \"postgres://t@db.example:5432\"", "store.dsn", 3, "names no database"},
		{"store dsn no user", "[store]\ndriver = \"postgres\"\ndsn = \"postgres://db.example/ticketd\"", "store.dsn", 3, "names no user"},
		{"store dsn port", "[store]\ndriver = \"postgres\"\ndsn = \"postgres://t@db.example:99999/ticketd\"", "store.dsn", 3, "not a port"},
		{"store sslmode", "[store]\ndriver = \"postgres\"\ndsn = \"postgres://t@db.example/ticketd?sslmode=on\"", "store.dsn", 3, "verify-full"},
		{"store dsn with sqlite", "[store]\ndsn = \"postgres://t@db.example/ticketd\"", "store.dsn", 2, "only for driver"},
		{"store dsn env unset", "[store]\ndriver = \"postgres\"\ndsn = \"env:TICKETD_TEST_DSN_UNSET\"", "store.dsn", 3, "TICKETD_TEST_DSN_UNSET is not set"},
		{"smtp.listen", "[smtp]\nlisten = \"2525\"", "smtp.listen", 2, "host:port"},
		{"smtp.listen port", "[smtp]\nlisten = \"127.0.0.1:smtp\"", "smtp.listen", 2, "invalid port"},
		{"lmtp empty unix", "[smtp]\nlmtp_listen = \"unix:\"", "smtp.lmtp_listen", 2, "socket path"},
		{"lmtp bad", "[smtp]\nlmtp_listen = \"/run/lmtp.sock\"", "smtp.lmtp_listen", 2, "unix:"},
		{"max_message_bytes", "[smtp]\nmax_message_bytes = 0", "smtp.max_message_bytes", 2, "greater than 0"},
		{"read_timeout", "[smtp]\nread_timeout = \"0s\"", "smtp.read_timeout", 2, "greater than 0"},
		{"data_timeout", "[smtp]\ndata_timeout = \"-5m\"", "smtp.data_timeout", 2, "greater than 0"},
		{"max_connections", "[smtp]\nmax_connections = 0", "smtp.max_connections", 2, "at least 1"},
		{"max_connections_per_ip", "[smtp]\nmax_connections_per_ip = 0", "smtp.max_connections_per_ip", 2, "at least 1"},
		{"per ip above total", "[smtp]\nmax_connections = 10\nmax_connections_per_ip = 11", "smtp.max_connections_per_ip", 3, "more than smtp.max_connections (10)"},
		{"authserv-id", "[security]\ntrusted_authserv_id = \"mx.example.com; spf=pass\"", "security.trusted_authserv_id", 2, "authserv-id"},
		{"tls key without cert", "[smtp]\ntls_key_file = \"key.pem\"", "smtp.tls_cert_file", 1, "tls_key_file"},
		{"tls cert unreadable", "[smtp]\ntls_cert_file = \"no-cert.pem\"\ntls_key_file = \"no-key.pem\"", "smtp.tls_cert_file", 2, "no-cert.pem"},
		{"http.listen", "[http]\nlisten = \"localhost\"", "http.listen", 2, "turn the status page off"},
		{"transport", "[outbound]\ntransport = \"sendmail\"", "outbound.transport", 2, `"dir"`},
		{"dir needed", "[outbound]\ndir = \"\"", "outbound.dir", 2, "must be set"},
		{"smtp_addr needed", "[outbound]\ntransport = \"smtp\"", "outbound.smtp_addr", 1, "must be set"},
		{"smtp_addr form", "[outbound]\ntransport = \"smtp\"\nsmtp_addr = \"smtp.example.com\"", "outbound.smtp_addr", 3, "host:port"},
		{"smtp user without password", "[outbound]\ntransport = \"smtp\"\nsmtp_addr = \"s.example:587\"\nsmtp_username = \"u\"", "outbound.smtp_password", 1, "smtp_username"},
		{"starttls", "[outbound]\nsmtp_starttls = \"yes\"", "outbound.smtp_starttls", 2, `"required", "opportunistic" or "none"`},
		{"give_up_after zero", "[outbound]\ngive_up_after = \"0s\"", "outbound.give_up_after", 2, "greater than 0"},
		{"give_up_after days", "[outbound]\ngive_up_after = \"3d\"", "outbound.give_up_after", 2, "hours"},
		{"give_up_after number", "[outbound]\ngive_up_after = 72", "outbound.give_up_after", 2, "duration in quotes"},
		{"smtp_connections zero", "[outbound]\nsmtp_connections = 0", "outbound.smtp_connections", 2, "from 1 to 100"},
		{"smtp_connections many", "\n[outbound]\nsmtp_connections = 1000", "outbound.smtp_connections", 3, "from 1 to 100"},
		{"pending negative", "[lifecycle]\npending_close_days = -1", "lifecycle.pending_close_days", 2, "0 (never close"},
		{"reminder negative", "[lifecycle]\nreminder_days_before_close = -2", "lifecycle.reminder_days_before_close", 2, "0 or more"},
		{"reminder too late", "[lifecycle]\npending_close_days = 7\nreminder_days_before_close = 7", "lifecycle.reminder_days_before_close", 3, "less than pending_close_days (7)"},
		{"close before default reminder", "[lifecycle]\npending_close_days = 5", "lifecycle.pending_close_days", 2, "more than reminder_days_before_close (7 by default)"},
		{"scan_interval", "[lifecycle]\nscan_interval = \"-1m\"", "lifecycle.scan_interval", 2, "greater than 0"},
		{"wrong type", "[server]\nautoreply_limit_per_hour = \"5\"", "server.autoreply_limit_per_hour", 2, "whole number without quotes, not a string"},
		{"section not a table", "server = \"x\"", "server", 1, "must be a table"},
		{"digest_time", "[server]\ndigest_time = \"8:00\"", "server.digest_time", 2, `"HH:MM"`},
		{"digest_time range", "[server]\ndigest_time = \"25:00\"", "server.digest_time", 2, `"HH:MM"`},
		{"agent_imap.listen", "[agent_imap]\nlisten = \"1143\"", "agent_imap.listen", 2, "host:port"},
		{"agent_imap.tls", "[agent_imap]\ntls = \"yes\"", "agent_imap.tls", 2, `"starttls"`},
		{"agent_imap implicit without cert", "[agent_imap]\nlisten = \"127.0.0.1:993\"\ntls = \"implicit\"", "agent_imap.tls", 3, "tls_cert_file"},
		{"agent_imap key without cert", "[agent_imap]\ntls_key_file = \"key.pem\"", "agent_imap.tls_cert_file", 1, "tls_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := problemsOf(t, tt.section+"\n"+minimal)
			if len(errs) != 1 {
				t.Fatalf("want 1 problem, got %d:\n%v", len(errs), errs)
			}
			checkProblem(t, errs[0], tt.key, tt.line, tt.msg)
		})
	}
}

// TestMailboxAgentIMAPProblems covers the arrays of tables, where the key
// carries the element index and the line is that element's.
func TestMailboxAgentIMAPProblems(t *testing.T) {
	const agents = `
[[agents]]
email = "ana@example.com"
[[agents]]
email = "luis@example.com"
`
	mailbox := func(body string) string {
		return "[[mailboxes]]\naddress = \"soporte@example.com\"\nagents = [\"ana@example.com\"]\n[[mailboxes]]\n" + body + "\n" + agents
	}
	imap := func(body string) string {
		return minimal + "[[agents]]\nemail = \"luis@example.com\"\n[[imap]]\npassword = \"pw\"\n" + body
	}
	// minimal is 7 lines (its first is empty), so the [[imap]] header is
	// line 10 and the first body line is 12.
	tests := []struct {
		name string
		src  string
		key  string
		line int
		msg  string
	}{
		{"no mailboxes", agents, "mailboxes", 0, "at least one [[mailboxes]]"},
		{"address missing", mailbox("agents = [\"ana@example.com\"]"), "mailboxes[1].address", 4, "is required"},
		{"address invalid", mailbox("address = \"ventas\"\nagents = [\"ana@example.com\"]"), "mailboxes[1].address", 5, "plain email address"},
		{"address display name", mailbox("address = \"Ventas <ventas@example.com>\"\nagents = [\"ana@example.com\"]"), "mailboxes[1].address", 5, "plain email address"},
		{"address plus", mailbox("address = \"ventas+x@example.com\"\nagents = [\"ana@example.com\"]"), "mailboxes[1].address", 5, "'+'"},
		{"address duplicate", mailbox("address = \"SOPORTE@example.com\"\nagents = [\"ana@example.com\"]"), "mailboxes[1].address", 5, "already mailboxes[0]"},
		{"address is agent", mailbox("address = \"luis@example.com\"\nagents = [\"ana@example.com\"]"), "mailboxes[1].address", 5, "also an agent"},
		{"language", mailbox("address = \"v@example.com\"\nlanguage = \"EN\"\nagents = [\"ana@example.com\"]"), "mailboxes[1].language", 6, "es, en, fr, pt, it"},
		{"no agents", mailbox("address = \"v@example.com\""), "mailboxes[1].agents", 4, "at least one agent"},
		{"agent unknown", mailbox("address = \"v@example.com\"\nagents = [\n  \"ana@example.com\",\n  \"eva@example.com\",\n]"), "mailboxes[1].agents[1]", 8, "not listed under [[agents]]"},
		{"agent twice", mailbox("address = \"v@example.com\"\nagents = [\"ana@example.com\", \"Ana@example.com\"]"), "mailboxes[1].agents[1]", 6, "twice"},
		{"override reminder too late", mailbox("address = \"v@example.com\"\nagents = [\"ana@example.com\"]\npending_close_days = 10\nreminder_days_before_close = 10"), "mailboxes[1].reminder_days_before_close", 8, "less than pending_close_days (10)"},
		{"override close below inherited reminder", mailbox("address = \"v@example.com\"\nagents = [\"ana@example.com\"]\npending_close_days = 5"), "mailboxes[1].pending_close_days", 7, "reminder_days_before_close (7 from [lifecycle])"},
		{"override reminder above inherited close", mailbox("address = \"v@example.com\"\nagents = [\"ana@example.com\"]\nreminder_days_before_close = 30"), "mailboxes[1].reminder_days_before_close", 7, "(30 from [lifecycle])"},
		{"override negative", mailbox("address = \"v@example.com\"\nagents = [\"ana@example.com\"]\npending_close_days = -3"), "mailboxes[1].pending_close_days", 7, "0 (never close"},
		{"agent email invalid", "[[agents]]\nemail = \"ana at example.com\"\n" + minimal, "agents[0].email", 2, "plain email address"},
		{"agent email missing", minimal + "[[agents]]\nname = \"Luis\"", "agents[1].email", 8, "is required"},
		{"agent duplicate", minimal + "[[agents]]\nemail = \"ANA@example.com\"", "agents[1].email", 9, "already agents[0]"},

		{"imap addr missing", imap("username = \"u\"\nmailbox = \"soporte@example.com\""), "imap[0].addr", 10, "is required"},
		{"imap addr form", imap("addr = \"imap.example.com\"\nusername = \"u\"\nmailbox = \"soporte@example.com\""), "imap[0].addr", 12, "host:port"},
		{"imap tls value", imap("addr = \"imap.example.com:993\"\ntls = \"ssl\"\nusername = \"u\"\nmailbox = \"soporte@example.com\""), "imap[0].tls", 13, `"implicit"`},
		{"imap tls none remote", imap("addr = \"imap.example.com:143\"\ntls = \"none\"\nusername = \"u\"\nmailbox = \"soporte@example.com\""), "imap[0].tls", 13, "loopback"},
		{"imap username", imap("addr = \"imap.example.com:993\"\nmailbox = \"soporte@example.com\""), "imap[0].username", 10, "is required"},
		{"imap mailbox unknown", imap("addr = \"imap.example.com:993\"\nusername = \"u\"\nmailbox = \"ventas@example.com\""), "imap[0].mailbox", 14, "soporte@example.com"},
		{"imap after", imap("addr = \"imap.example.com:993\"\nusername = \"u\"\nmailbox = \"soporte@example.com\"\nafter = \"archive\""), "imap[0].after", 15, "move:FOLDER"},
		{"imap after move empty", imap("addr = \"imap.example.com:993\"\nusername = \"u\"\nmailbox = \"soporte@example.com\"\nafter = \"move:\""), "imap[0].after", 15, "folder name"},
		{"imap poll", imap("addr = \"imap.example.com:993\"\nusername = \"u\"\nmailbox = \"soporte@example.com\"\npoll_interval = \"0s\""), "imap[0].poll_interval", 15, "greater than 0"},
		{"imap backlog", imap("addr = \"imap.example.com:993\"\nusername = \"u\"\nmailbox = \"soporte@example.com\"\nbacklog_days = -1"), "imap[0].backlog_days", 15, "0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := problemsOf(t, tt.src)
			if len(errs) != 1 {
				t.Fatalf("want 1 problem, got %d:\n%v", len(errs), errs)
			}
			checkProblem(t, errs[0], tt.key, tt.line, tt.msg)
		})
	}
}

func TestIMAPPlainTextOnLoopbackIsAllowed(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		mustParse(t, minimal+fmt.Sprintf("[[imap]]\naddr = \"%s:143\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\nmailbox = \"soporte@example.com\"\nafter = \"move:Done\"\n", host))
	}
}

func TestThreeMistakesThreeProblems(t *testing.T) {
	src := `[server]
hostname = "tickets.example.com"
language = "de"

[outbound]
smtp_starttls = "always"

[[mailboxes]]
address = "soporte@example.com"
agents = ["ana@example.com", "eva@example.com"]

[[agents]]
email = "ana@example.com"
`
	errs := problemsOf(t, src)
	want := []string{
		`ticketd.toml:3: server.language: must be one of es, en, fr, pt, it, not "de"`,
		`ticketd.toml:6: outbound.smtp_starttls: must be "required", "opportunistic" or "none", not "always"`,
		`ticketd.toml:10: mailboxes[0].agents[1]: "eva@example.com" is not listed under [[agents]]`,
	}
	if got := errs.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestTypeMistakesAreAllReported(t *testing.T) {
	src := `[smtp]
max_message_bytes = "25MB"
[lifecycle]
pending_close_days = 30.5
scan_interval = 60
[[mailboxes]]
address = "soporte@example.com"
agents = "ana@example.com"
[[agents]]
email = "ana@example.com"
`
	errs := problemsOf(t, src)
	want := []struct {
		key  string
		line int
		msg  string
	}{
		{"smtp.max_message_bytes", 2, "whole number without quotes, not a string"},
		{"lifecycle.pending_close_days", 4, "not a decimal number"},
		{"lifecycle.scan_interval", 5, "not a number"},
		{"mailboxes[0].agents", 8, `must be a list such as ["a", "b"]`},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		checkProblem(t, errs[i], w.key, w.line, w.msg)
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		key  string
		line int
		msg  string
	}{
		{"typo", "[server]\nhostnme = \"x.example\"", "server.hostnme", 2, `unknown key in [server]; did you mean "hostname"?`},
		{"missing underscore", "[server]\ndatadir = \"v\"", "server.datadir", 2, `did you mean "data_dir"?`},
		{"hyphen", "[lifecycle]\npending-close-days = 3", "lifecycle.pending-close-days", 2, `did you mean "pending_close_days"?`},
		{"truncated", "[outbound]\ngive_up = \"1h\"", "outbound.give_up", 2, `did you mean "give_up_after"?`},
		{"wrong section", "[server]\nlisten = \":25\"", "server.listen", 2, `"listen" belongs in [smtp] or [http]`},
		{"unknown section", "[serveur]\nhostname = \"x\"", "serveur", 1, `unknown section; did you mean "server"?`},
		{"unknown section no guess", "[database]\nurl = \"x\"", "database", 1, "known sections are"},
		{"singular array", "[[mailbox]]\naddress = \"a@example.com\"", "mailbox", 1, `did you mean "mailboxes"?`},
		{"in array element", "[[agents]]\nemail = \"luis@example.com\"\nnmae = \"Luis\"", "agents[1].nmae", 3, `unknown key in [[agents]]; did you mean "name"?`},
		{"no guess", "[http]\nport = 8080", "http.port", 2, "known keys are listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Put the mistake after minimal, so [[agents]] is its second element.
			errs := problemsOf(t, strings.TrimPrefix(minimal, "\n")+tt.src)
			if len(errs) != 1 {
				t.Fatalf("want 1 problem, got %d:\n%v", len(errs), errs)
			}
			checkProblem(t, errs[0], tt.key, tt.line+6, tt.msg)
		})
	}
}

func TestSyntaxErrorKeepsLine(t *testing.T) {
	src := "[server]\nhostname = \"tickets.example.com\"\nlanguage = es\n"
	errs := problemsOf(t, src)
	if len(errs) != 1 {
		t.Fatalf("want 1 problem, got %v", errs)
	}
	p := errs[0]
	if p.Line != 3 || !strings.Contains(p.Msg, "syntax error at column") {
		t.Errorf("got %q, want line 3 and the column", p)
	}
	if !strings.HasPrefix(errs.Error(), "ticketd.toml:3: syntax error") {
		t.Errorf("Error() = %q", errs.Error())
	}
}

func TestDuplicateKeyIsASyntaxError(t *testing.T) {
	errs := problemsOf(t, "[server]\nhostname = \"a.example\"\nhostname = \"b.example\"\n")
	if len(errs) != 1 || errs[0].Line != 3 {
		t.Errorf("got %v, want one problem on line 3", errs)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.toml", Key: "k", Line: 4, Msg: "bad"}, "f.toml:4: k: bad"},
		{Problem{File: "f.toml", Key: "k", Msg: "bad"}, "f.toml: k: bad"},
		{Problem{Key: "k", Msg: "bad"}, "k: bad"},
		{Problem{Line: 2, Msg: "syntax"}, "2: syntax"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestBaseURLTrailingSlashIsDropped(t *testing.T) {
	c := mustParse(t, "[server]\nbase_url = \"https://help.example.com/desk/\"\n"+minimal)
	if c.Server.BaseURL != "https://help.example.com/desk" {
		t.Errorf("base_url = %q", c.Server.BaseURL)
	}
}

func TestHTTPListenMayBeEmpty(t *testing.T) {
	c := mustParse(t, "[http]\nlisten = \"\"\n"+minimal)
	if c.HTTP.Listen != "" {
		t.Errorf("http.listen = %q, want empty (page off)", c.HTTP.Listen)
	}
}

func TestNeverAutoCloseIgnoresReminder(t *testing.T) {
	mustParse(t, "[lifecycle]\npending_close_days = 0\nreminder_days_before_close = 7\n"+minimal)
}

func checkProblem(t *testing.T, p Problem, key string, line int, msg string) {
	t.Helper()
	if p.Key != key || p.Line != line || !strings.Contains(p.Msg, msg) {
		t.Errorf("got  %s (key %q, line %d)\nwant key %q, line %d, message containing %q", p, p.Key, p.Line, key, line, msg)
	}
}

// The operations keys: log format and level, admins, metrics listener,
// key validity; each wrong value is named with its line.
func TestValidateOperationsKeys(t *testing.T) {
	cfg := `[server]
log_format = "xml"
log_level = "loud"
admins = ["it@example.com", "not an address"]
old_keys_valid_for = "0s"

[http]
listen = "127.0.0.1:8080"
metrics_listen = "127.0.0.1:8080"

[[agents]]
email = "ana@example.com"

[[mailboxes]]
address = "soporte@example.com"
agents = ["ana@example.com"]
`
	_, err := Parse([]byte(cfg), "ops.toml")
	if err == nil {
		t.Fatal("bad operations keys accepted")
	}
	got := err.Error()
	for _, want := range []string{
		`ops.toml:2: server.log_format: must be "text"`,
		`ops.toml:3: server.log_level: must be "debug"`,
		`ops.toml:4: server.admins[1]: "not an address" is not a plain email address`,
		`ops.toml:5: server.old_keys_valid_for: must be a duration greater than 0`,
		`ops.toml:9: http.metrics_listen: "127.0.0.1:8080" is already the status page's`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	c, err := Parse([]byte("[[agents]]\nemail = \"ana@example.com\"\n[[mailboxes]]\naddress = \"soporte@example.com\"\nagents = [\"ana@example.com\"]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.LogFormat != "text" || c.Server.LogLevel != "info" || c.HTTP.MetricsListen != "" || c.Server.OldKeysValidFor.Duration != 180*24*time.Hour || len(c.Server.Admins) != 0 {
		t.Fatalf("defaults: %+v %+v", c.Server, c.HTTP)
	}
}

// The summary says where metrics are served, who gets alerts, and how it logs.
func TestSummaryShowsOperations(t *testing.T) {
	c, err := Parse([]byte("[server]\nadmins = [\"it@example.com\"]\nlog_format = \"json\"\n[http]\nmetrics_listen = \"127.0.0.1:9180\"\n"+
		"[[agents]]\nemail = \"ana@example.com\"\n[[mailboxes]]\naddress = \"soporte@example.com\"\nagents = [\"ana@example.com\"]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Summary()
	for _, want := range []string{"metrics:   127.0.0.1:9180/metrics", "admins:    it@example.com", "logs:      json, level info"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

// A DSN from the environment is used as given, and a password in it never
// shows in the summary check-config prints.
func TestStoreDSNFromEnv(t *testing.T) {
	t.Setenv("TICKETD_TEST_DSN", "postgres://ticketd:hunter2@db.example:5432/ticketd?sslmode=verify-full")
	c := mustParse(t, "[store]\ndriver = \"postgres\"\ndsn = \"env:TICKETD_TEST_DSN\"\n"+minimal)
	if c.Store.Driver != DriverPostgres || c.Store.DSN != "postgres://ticketd:hunter2@db.example:5432/ticketd?sslmode=verify-full" {
		t.Fatalf("store = %+v", c.Store)
	}
	sum := c.Summary()
	if strings.Contains(sum, "hunter2") || !strings.Contains(sum, "store:     postgres postgres://ticketd:xxxxx@db.example:5432/ticketd") {
		t.Errorf("summary:\n%s", sum)
	}
	if d := mustParse(t, minimal); d.Store.Driver != DriverSQLite || !strings.Contains(d.Summary(), "store:     sqlite ") {
		t.Errorf("default store %+v, summary:\n%s", d.Store, d.Summary())
	}
}
