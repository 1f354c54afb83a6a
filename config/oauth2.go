package config

import (
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
)

// OAuth2Keys are the keys an [[imap]] entry (with auth = "xoauth2") or
// [outbound] (with smtp_auth = "xoauth2") uses to get access tokens.
type OAuth2Keys struct {
	// Provider ("microsoft" or "google") fills in the token and device
	// authorization URLs and the scopes; keys set in the file win.
	Provider string `toml:"provider"`
	// Tenant is the Microsoft Entra tenant (a domain or ID); "common" by default.
	Tenant        string `toml:"oauth2_tenant"`
	TokenURL      string `toml:"oauth2_token_url"`
	DeviceAuthURL string `toml:"oauth2_device_auth_url"` // RFC 8628, for `ticketd oauth2 login`
	AuthURL       string `toml:"oauth2_auth_url"`        // for `ticketd oauth2 login --browser`
	ClientID      string `toml:"oauth2_client_id"`
	// ClientSecret is, after Load, the secret itself (literal, "env:VAR"
	// or oauth2_client_secret_file); empty for a public client.
	ClientSecret     string   `toml:"oauth2_client_secret"`
	ClientSecretFile string   `toml:"oauth2_client_secret_file"`
	RefreshTokenFile string   `toml:"oauth2_refresh_token_file"`
	Scopes           []string `toml:"oauth2_scopes"`
}

// OAuth2 is what one account needs to get access tokens, with the
// provider's presets applied and the client secret resolved.
type OAuth2 struct {
	Key              string // where it is set: "imap[0]" or "outbound"
	Account          string // the user name XOAUTH2 logs in as
	Provider         string
	TokenURL         string
	DeviceAuthURL    string
	AuthURL          string
	ClientID         string
	ClientSecret     string
	RefreshTokenFile string
	Scopes           []string
}

// IMAPOAuth2 returns the OAuth2 settings of the i-th [[imap]] entry.
func (c *Config) IMAPOAuth2(i int) OAuth2 {
	m := c.IMAP[i]
	return m.OAuth2Keys.settings(fmt.Sprintf("imap[%d]", i), m.Username)
}

// OutboundOAuth2 returns the OAuth2 settings of [outbound].
func (c *Config) OutboundOAuth2() OAuth2 {
	return c.Outbound.OAuth2Keys.settings("outbound", c.Outbound.SMTPUsername)
}

func (k OAuth2Keys) settings(key, account string) OAuth2 {
	return OAuth2{
		Key: key, Account: account, Provider: k.Provider,
		TokenURL: k.TokenURL, DeviceAuthURL: k.DeviceAuthURL, AuthURL: k.AuthURL,
		ClientID: k.ClientID, ClientSecret: k.ClientSecret,
		RefreshTokenFile: k.RefreshTokenFile, Scopes: append([]string(nil), k.Scopes...),
	}
}

// Scopes of the providers, for IMAP and for SMTP submission.
var (
	MicrosoftIMAPScopes = []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"}
	MicrosoftSMTPScopes = []string{"https://outlook.office.com/SMTP.Send", "offline_access"}
	GoogleMailScopes    = []string{"https://mail.google.com/"}
)

func (k *OAuth2Keys) resolvePaths(resolve func(*string)) {
	resolve(&k.ClientSecretFile)
	resolve(&k.RefreshTokenFile)
}

// resolveSecret replaces "env:VAR" or oauth2_client_secret_file with the
// client secret itself.
func (k *OAuth2Keys) resolveSecret(p *problems, key string) {
	switch {
	case k.ClientSecret != "" && k.ClientSecretFile != "":
		p.add(key+".oauth2_client_secret_file", "set either oauth2_client_secret or oauth2_client_secret_file, not both")
	case k.ClientSecretFile != "":
		data, err := os.ReadFile(k.ClientSecretFile)
		if err != nil {
			p.add(key+".oauth2_client_secret_file", "cannot read the client secret: %v", unwrapPathError(err))
			return
		}
		k.ClientSecret = strings.TrimSpace(string(data))
		if k.ClientSecret == "" {
			p.add(key+".oauth2_client_secret_file", "%s is empty", k.ClientSecretFile)
		}
	default:
		if v, ok := strings.CutPrefix(k.ClientSecret, "env:"); ok {
			k.ClientSecret = resolveEnv(p, key+".oauth2_client_secret", v)
		}
	}
}

// set reports whether any OAuth2 key is set, naming the first one.
func (k *OAuth2Keys) set() (string, bool) {
	v := reflect.ValueOf(*k)
	t := v.Type()
	for i := range t.NumField() {
		if !v.Field(i).IsZero() {
			return t.Field(i).Tag.Get("toml"), true
		}
	}
	return "", false
}

// validate checks the keys of one account that uses XOAUTH2 and fills in
// the provider's presets; smtp chooses the submission scopes.
func (k *OAuth2Keys) validate(p *problems, key string, smtp bool) {
	switch k.Provider {
	case "microsoft":
		tenant := k.Tenant
		if tenant == "" {
			tenant = "common"
		}
		if strings.ContainsAny(tenant, "/?#@ ") {
			p.add(key+".oauth2_tenant", "%q is not a tenant; use your domain (\"example.com\"), the tenant ID, or \"common\"", tenant)
		}
		base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/"
		fill(&k.TokenURL, base+"token")
		fill(&k.DeviceAuthURL, base+"devicecode")
		fill(&k.AuthURL, base+"authorize")
		if len(k.Scopes) == 0 {
			k.Scopes = MicrosoftIMAPScopes
			if smtp {
				k.Scopes = MicrosoftSMTPScopes
			}
			k.Scopes = append([]string(nil), k.Scopes...)
		}
	case "google":
		fill(&k.TokenURL, "https://oauth2.googleapis.com/token")
		fill(&k.DeviceAuthURL, "https://oauth2.googleapis.com/device/code")
		fill(&k.AuthURL, "https://accounts.google.com/o/oauth2/auth")
		if len(k.Scopes) == 0 {
			k.Scopes = append([]string(nil), GoogleMailScopes...)
		}
	case "":
	default:
		p.add(key+".provider", `must be "microsoft" or "google" (or left out, with oauth2_token_url), not %q`, k.Provider)
		return
	}
	if k.Tenant != "" && k.Provider != "microsoft" {
		p.add(key+".oauth2_tenant", `is only used with provider = "microsoft"`)
	}
	if k.TokenURL == "" {
		p.add(key+".oauth2_token_url", `is required with XOAUTH2: set provider = "microsoft" or "google", or the token endpoint's URL`)
	} else if msg := checkEndpoint(k.TokenURL); msg != "" {
		p.add(key+".oauth2_token_url", "%s", msg)
	}
	for name, u := range map[string]string{"oauth2_device_auth_url": k.DeviceAuthURL, "oauth2_auth_url": k.AuthURL} {
		if u == "" {
			continue
		}
		if msg := checkEndpoint(u); msg != "" {
			p.add(key+"."+name, "%s", msg)
		}
	}
	if k.ClientID == "" {
		p.add(key+".oauth2_client_id", "is required with XOAUTH2: the application (client) ID of your app registration")
	}
	if k.RefreshTokenFile == "" {
		p.add(key+".oauth2_refresh_token_file", "is required with XOAUTH2: the file holding the refresh token (`ticketd oauth2 login` writes it)")
	}
	for i, s := range k.Scopes {
		if s == "" || strings.ContainsAny(s, " \t") {
			p.add(fmt.Sprintf("%s.oauth2_scopes[%d]", key, i), "%q is not one scope; write each scope as its own string", s)
		}
	}
}

func fill(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// checkEndpoint accepts an https URL, or http on loopback (a local test
// or proxy), so a client secret and tokens never cross a network in clear.
func checkEndpoint(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Sprintf("%q is not an absolute https URL", s)
	case u.User != nil:
		return "must not contain a user or password"
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Sprintf("%q uses http, which is only allowed on loopback (127.0.0.1, ::1, localhost); use https", s)
	}
	return ""
}

// validateOAuth2 checks the XOAUTH2 accounts of [[imap]] and [outbound],
// and that no two of them share a refresh token file (each rotates its own).
func (c *Config) validateOAuth2(p *problems) {
	files := make(map[string]string)
	claim := func(key string, k *OAuth2Keys) {
		if k.RefreshTokenFile == "" {
			return
		}
		if other, dup := files[k.RefreshTokenFile]; dup {
			p.add(key+".oauth2_refresh_token_file", "%s is also the refresh token file of %s; each account needs its own file, since a provider may replace the token at every refresh", k.RefreshTokenFile, other)
			return
		}
		files[k.RefreshTokenFile] = key
	}
	for i := range c.IMAP {
		m := &c.IMAP[i]
		key := fmt.Sprintf("imap[%d]", i)
		switch m.Auth {
		case "xoauth2":
			if m.Password != "" || m.PasswordFile != "" {
				name := "password"
				if m.PasswordFile != "" {
					name = "password_file"
				}
				p.add(key+"."+name, `is not used with auth = "xoauth2"; remove it`)
			}
			m.OAuth2Keys.validate(p, key, false)
			claim(key, &m.OAuth2Keys)
		case "password":
			if name, ok := m.OAuth2Keys.set(); ok {
				p.add(key+"."+name, `is only used with auth = "xoauth2"`)
			}
		default:
			p.add(key+".auth", `must be "password" or "xoauth2" (OAuth2, for Microsoft 365 and Google), not %q`, m.Auth)
		}
	}
	o := &c.Outbound
	switch o.SMTPAuth {
	case "xoauth2":
		if o.Transport != "smtp" {
			break
		}
		if o.SMTPUsername == "" {
			p.add("outbound.smtp_username", `is required with smtp_auth = "xoauth2": the account to send as`)
		}
		if o.SMTPPassword != "" {
			p.add("outbound.smtp_password", `is not used with smtp_auth = "xoauth2"; remove it`)
		}
		o.OAuth2Keys.validate(p, "outbound", true)
		claim("outbound", &o.OAuth2Keys)
	case "plain":
		if name, ok := o.OAuth2Keys.set(); ok {
			p.add("outbound."+name, `is only used with smtp_auth = "xoauth2"`)
		}
	default:
		p.add("outbound.smtp_auth", `must be "plain" or "xoauth2" (OAuth2, for Microsoft 365 and Google), not %q`, o.SMTPAuth)
	}
}

// tokenHost names a token endpoint by its host, for the summary.
func tokenHost(tokenURL string) string {
	if u, err := url.Parse(tokenURL); err == nil && u.Host != "" {
		return "tokens from " + u.Host
	}
	return "tokens from " + tokenURL
}
