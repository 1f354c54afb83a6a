package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var keyLine = regexp.MustCompile(`^# [a-z0-9_]+ = `)

// xoauth2IMAP is an [[imap]] entry using XOAUTH2 with a Microsoft tenant;
// its first line is the one after minimal.
const xoauth2IMAP = `
[[imap]]
addr = "outlook.office365.com:993"
username = "soporte@example.com"
mailbox = "soporte@example.com"
auth = "xoauth2"
provider = "microsoft"
oauth2_tenant = "example.com"
oauth2_client_id = "11111111-2222-3333-4444-555555555555"
oauth2_refresh_token_file = "imap.token"
`

func TestXOAUTH2ProviderPresets(t *testing.T) {
	c := mustParse(t, minimal+xoauth2IMAP+`
[outbound]
transport = "smtp"
smtp_addr = "smtp.gmail.com:587"
smtp_username = "soporte@example.com"
smtp_auth = "xoauth2"
provider = "google"
oauth2_client_id = "123.apps.googleusercontent.com"
oauth2_client_secret = "GOCSPX-secret"
oauth2_refresh_token_file = "smtp.token"
`)
	dir := filepath.Dir(c.Path)
	got := c.IMAPOAuth2(0)
	want := OAuth2{
		Key: "imap[0]", Account: "soporte@example.com", Provider: "microsoft",
		TokenURL:         "https://login.microsoftonline.com/example.com/oauth2/v2.0/token",
		DeviceAuthURL:    "https://login.microsoftonline.com/example.com/oauth2/v2.0/devicecode",
		AuthURL:          "https://login.microsoftonline.com/example.com/oauth2/v2.0/authorize",
		ClientID:         "11111111-2222-3333-4444-555555555555",
		RefreshTokenFile: filepath.Join(dir, "imap.token"),
		Scopes:           []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("imap oauth2 =\n%+v\nwant\n%+v", got, want)
	}
	out := c.OutboundOAuth2()
	if out.Key != "outbound" || out.TokenURL != "https://oauth2.googleapis.com/token" || out.AuthURL != "https://accounts.google.com/o/oauth2/auth" ||
		out.ClientSecret != "GOCSPX-secret" || !reflect.DeepEqual(out.Scopes, []string{"https://mail.google.com/"}) ||
		out.RefreshTokenFile != filepath.Join(dir, "smtp.token") {
		t.Errorf("outbound oauth2 = %+v", out)
	}
	if c.IMAP[0].Password != "" {
		t.Error("an XOAUTH2 entry got a password")
	}
	if s := c.Summary(); !strings.Contains(s, "XOAUTH2 (tokens from login.microsoftonline.com)") || !strings.Contains(s, "with XOAUTH2 (tokens from oauth2.googleapis.com)") {
		t.Errorf("summary does not show XOAUTH2:\n%s", s)
	}
	if strings.Contains(c.Summary(), "GOCSPX-secret") {
		t.Error("summary shows the client secret")
	}

	// Microsoft for SMTP asks for the submission scope; "common" is the
	// default tenant; explicit keys win over the preset.
	c = mustParse(t, minimal+`
[outbound]
transport = "smtp"
smtp_addr = "smtp.office365.com:587"
smtp_username = "soporte@example.com"
smtp_auth = "xoauth2"
provider = "microsoft"
oauth2_client_id = "x"
oauth2_refresh_token_file = "smtp.token"
`)
	if o := c.OutboundOAuth2(); o.TokenURL != "https://login.microsoftonline.com/common/oauth2/v2.0/token" ||
		!reflect.DeepEqual(o.Scopes, []string{"https://outlook.office.com/SMTP.Send", "offline_access"}) {
		t.Errorf("microsoft smtp = %+v", o)
	}
	c = mustParse(t, minimal+strings.Replace(xoauth2IMAP, `provider = "microsoft"`,
		"provider = \"microsoft\"\noauth2_scopes = [\"https://outlook.office365.us/IMAP.AccessAsUser.All\", \"offline_access\"]\noauth2_token_url = \"https://login.microsoftonline.us/example.com/oauth2/v2.0/token\"", 1))
	if o := c.IMAPOAuth2(0); o.TokenURL != "https://login.microsoftonline.us/example.com/oauth2/v2.0/token" || o.Scopes[0] != "https://outlook.office365.us/IMAP.AccessAsUser.All" {
		t.Errorf("explicit keys did not win: %+v", o)
	}
}

func TestXOAUTH2ClientSecretSources(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "client.secret"), []byte("from-file\n"), 0o600)
	src := minimal + xoauth2IMAP + "oauth2_client_secret_file = \"client.secret\"\n"
	c, err := Parse([]byte(src), filepath.Join(dir, "ticketd.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.IMAPOAuth2(0).ClientSecret; got != "from-file" {
		t.Errorf("secret from file = %q", got)
	}
	t.Setenv("TEST_CLIENT_SECRET", "from-env")
	c = mustParse(t, minimal+xoauth2IMAP+"oauth2_client_secret = \"env:TEST_CLIENT_SECRET\"\n")
	if got := c.IMAPOAuth2(0).ClientSecret; got != "from-env" {
		t.Errorf("secret from env = %q", got)
	}
}

// Each mistake names its key and line and says what would be right.
func TestXOAUTH2Problems(t *testing.T) {
	smtp := "[outbound]\ntransport = \"smtp\"\nsmtp_addr = \"smtp.office365.com:587\"\nsmtp_auth = \"xoauth2\"\nprovider = \"microsoft\"\noauth2_client_id = \"x\"\noauth2_refresh_token_file = \"smtp.token\"\n"
	imap := minimal + xoauth2IMAP
	without := func(s, line string) string { return strings.Replace(s, line+"\n", "", 1) }
	tests := []struct {
		name string
		src  string
		key  string
		at   string // the problem's line is the last one containing this
		msg  string
	}{
		{"http token url", imap + "oauth2_token_url = \"http://login.example.com/token\"\n", "imap[0].oauth2_token_url", "oauth2_token_url", "only allowed on loopback"},
		{"token url not a url", imap + "oauth2_token_url = \"login.example.com/token\"\n", "imap[0].oauth2_token_url", "oauth2_token_url", "not an absolute https URL"},
		{"device url with user", imap + "oauth2_device_auth_url = \"https://u:p@login.example.com/device\"\n", "imap[0].oauth2_device_auth_url", "oauth2_device_auth_url", "must not contain a user"},
		{"auth url http", imap + "oauth2_auth_url = \"http://login.example.com/auth\"\n", "imap[0].oauth2_auth_url", "oauth2_auth_url", "only allowed on loopback"},
		{"unknown provider", strings.Replace(imap, `"microsoft"`, `"yahoo"`, 1), "imap[0].provider", "provider", `"microsoft" or "google"`},
		{"tenant without microsoft", strings.Replace(imap, `"microsoft"`, `"google"`, 1), "imap[0].oauth2_tenant", "oauth2_tenant", `only used with provider = "microsoft"`},
		{"bad tenant", strings.Replace(imap, `"example.com"`, `"example.com/x"`, 1), "imap[0].oauth2_tenant", "oauth2_tenant", "not a tenant"},
		{"no client id", without(imap, `oauth2_client_id = "11111111-2222-3333-4444-555555555555"`), "imap[0].oauth2_client_id", "[[imap]]", "application (client) ID"},
		{"no token file", without(imap, `oauth2_refresh_token_file = "imap.token"`), "imap[0].oauth2_refresh_token_file", "[[imap]]", "ticketd oauth2 login"},
		{"no provider nor url", without(without(imap, `provider = "microsoft"`), `oauth2_tenant = "example.com"`), "imap[0].oauth2_token_url", "[[imap]]", `set provider = "microsoft" or "google"`},
		{"password too", imap + "password = \"pw\"\n", "imap[0].password", "password", `not used with auth = "xoauth2"`},
		{"oauth2 key with password auth", minimal + "[[imap]]\naddr = \"imap.example.com:993\"\nusername = \"u\"\npassword = \"pw\"\nmailbox = \"soporte@example.com\"\noauth2_client_id = \"x\"\n", "imap[0].oauth2_client_id", "oauth2_client_id", `only used with auth = "xoauth2"`},
		{"auth value", strings.Replace(imap, `"xoauth2"`, `"oauth"`, 1), "imap[0].auth", "auth =", `"password" or "xoauth2"`},
		{"scope with space", imap + "oauth2_scopes = [\"a b\"]\n", "imap[0].oauth2_scopes[0]", "oauth2_scopes", "write each scope as its own string"},
		{"secret env unset", imap + "oauth2_client_secret = \"env:NO_SUCH_SECRET_VAR\"\n", "imap[0].oauth2_client_secret", "oauth2_client_secret", "NO_SUCH_SECRET_VAR is not set"},
		{"secret twice", imap + "oauth2_client_secret = \"s\"\noauth2_client_secret_file = \"s.txt\"\n", "imap[0].oauth2_client_secret_file", "oauth2_client_secret_file", "not both"},
		{"smtp without username", minimal + smtp, "outbound.smtp_username", "[outbound]", `required with smtp_auth = "xoauth2"`},
		{"smtp password too", minimal + strings.Replace(smtp, "smtp_auth", "smtp_username = \"u\"\nsmtp_password = \"pw\"\nsmtp_auth", 1), "outbound.smtp_password", "smtp_password", `not used with smtp_auth = "xoauth2"`},
		{"smtp_auth value", minimal + "[outbound]\nsmtp_auth = \"login\"\n", "outbound.smtp_auth", "smtp_auth", `"plain" or "xoauth2"`},
		{"shared token file", imap + strings.Replace(strings.Replace(smtp, "smtp.token", "imap.token", 1), "smtp_auth", "smtp_username = \"u\"\nsmtp_auth", 1), "outbound.oauth2_refresh_token_file", "oauth2_refresh_token_file", "also the refresh token file of imap[0]"},
		{"typo", imap + "oauth2_clientid = \"x\"\n", "imap[0].oauth2_clientid", "oauth2_clientid", `did you mean "oauth2_client_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := 0
			for i, l := range strings.Split(tt.src, "\n") {
				if strings.Contains(l, tt.at) {
					line = i + 1
				}
			}
			errs := problemsOf(t, tt.src)
			if len(errs) != 1 {
				t.Fatalf("want 1 problem, got %d:\n%v", len(errs), errs)
			}
			checkProblem(t, errs[0], tt.key, line, tt.msg)
		})
	}
}

// An http token URL on loopback is allowed (a local proxy, the tests).
func TestXOAUTH2LoopbackHTTP(t *testing.T) {
	c := mustParse(t, minimal+strings.Replace(xoauth2IMAP, "provider = \"microsoft\"\noauth2_tenant = \"example.com\"\n", "oauth2_token_url = \"http://127.0.0.1:8080/token\"\n", 1))
	if c.IMAPOAuth2(0).TokenURL != "http://127.0.0.1:8080/token" {
		t.Errorf("token url %q", c.IMAPOAuth2(0).TokenURL)
	}
}

// The example's XOAUTH2 lines, uncommented in place of the password, give
// a valid Microsoft 365 entry.
func TestExampleFileXOAUTH2Block(t *testing.T) {
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	i := strings.Index(src, "# [[imap]]")
	var b strings.Builder
	b.WriteString(src[:i])
	for _, line := range strings.Split(src[i:], "\n") {
		line = strings.TrimPrefix(line, "# ")
		if keyLine.MatchString(line) {
			line = strings.TrimPrefix(line, "# ") // a commented key, not prose
		}
		if strings.HasPrefix(line, "password") {
			continue
		}
		b.WriteString(line + "\n")
	}
	t.Setenv("TICKETD_OAUTH2_SECRET", "s3cret")
	c := mustParse(t, b.String())
	o := c.IMAPOAuth2(0)
	if c.IMAP[0].Auth != "xoauth2" || o.Provider != "microsoft" || o.ClientSecret != "s3cret" || !strings.Contains(o.TokenURL, "/example.com/") {
		t.Errorf("imap[0] oauth2 = %+v", o)
	}
}
