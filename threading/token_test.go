package threading

import (
	"strings"
	"testing"
)

func TestNewTokenShape(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		tok := NewToken()
		if !ValidToken(tok) {
			t.Fatalf("NewToken() = %q: not a valid token", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q", tok)
		}
		seen[tok] = true
	}
}

func TestValidToken(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"abcdefghijklmnopqrstuvwx", true},
		{"234567abcdefghijklmnopqr", true},
		{"ABCDEFGHIJKLMNOPQRSTUVWX", false}, // callers lowercase first
		{"abcdefghijklmnopqrstuvw", false},  // 23 chars
		{"abcdefghijklmnopqrstuvwxy", false},
		{"abcdefghijklmnopqrstuvw1", false}, // 1 is not base32
		{"abcdefghijklmnopqrstuvw8", false},
		{"", false},
	} {
		if got := ValidToken(c.in); got != c.want {
			t.Errorf("ValidToken(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestTagsBindAgentTicketAndKind(t *testing.T) {
	key := []byte("secret key")
	tok, other := "abcdefghijklmnopqrstuvwx", "bbcdefghijklmnopqrstuvwx"
	base := AgentTag(key, tok, "ana@example.com")
	if !validTag(base) {
		t.Fatalf("AgentTag = %q: want 16 chars of [a-z2-7]", base)
	}
	same := []struct{ name, tag string }{
		{"same inputs", AgentTag(key, tok, "ana@example.com")},
		{"email case does not matter", AgentTag(key, tok, "Ana@EXAMPLE.com")},
	}
	for _, c := range same {
		if !TagEqual(base, c.tag) {
			t.Errorf("%s: tag %q != %q", c.name, c.tag, base)
		}
	}
	different := []struct{ name, tag string }{
		{"another agent", AgentTag(key, tok, "bob@example.com")},
		{"another ticket", AgentTag(key, other, "ana@example.com")},
		{"another key", AgentTag([]byte("other key"), tok, "ana@example.com")},
		{"a note tag", NoteTag(key, tok, "ana@example.com")},
	}
	for _, c := range different {
		if TagEqual(base, c.tag) {
			t.Errorf("%s gives the same tag %q", c.name, c.tag)
		}
	}
	if TagEqual(base, base[:15]) || TagEqual("", base) {
		t.Error("TagEqual accepts a prefix")
	}
}

func TestAddressesRoundTrip(t *testing.T) {
	mailboxes := []string{"soporte@example.com", "Ventas@Example.org"}
	tok := NewToken()
	tag := AgentTag([]byte("k"), tok, "ana@example.com")
	for _, c := range []struct {
		addr string
		want Addr
	}{
		{"soporte@example.com", Addr{Mailbox: "soporte@example.com"}},
		{CustomerAddress("soporte@example.com", tok), Addr{"soporte@example.com", tok, KindCustomer, ""}},
		{AgentAddress("soporte@example.com", tok, tag), Addr{"soporte@example.com", tok, KindAgent, tag}},
		{NoteAddress("Ventas@Example.org", tok, tag), Addr{"Ventas@Example.org", tok, KindNote, tag}},
	} {
		got, ok := ParseRecipient(c.addr, mailboxes)
		if !ok || got != c.want {
			t.Errorf("ParseRecipient(%q) = %+v, %v; want %+v", c.addr, got, ok, c.want)
		}
	}
	if got := CustomerAddress("soporte@example.com", tok); got != "soporte+"+tok+"@example.com" {
		t.Errorf("CustomerAddress = %q", got)
	}
	if got := AgentAddress("soporte@example.com", tok, tag); got != "soporte+"+tok+"-a-"+tag+"@example.com" {
		t.Errorf("AgentAddress = %q", got)
	}
	if got := NoteAddress("soporte@example.com", tok, tag); got != "soporte+"+tok+"-n-"+tag+"@example.com" {
		t.Errorf("NoteAddress = %q", got)
	}
}

func TestParseRecipient(t *testing.T) {
	const tok = "abcdefghijklmnopqrstuvwx"
	const tag = "abcdefgh23456723"
	mailboxes := []string{"soporte@example.com", "soporte+es@example.com", "help@example.net"}
	for _, c := range []struct {
		story string
		addr  string
		want  Addr
		ok    bool
	}{
		{"the plain mailbox", "soporte@example.com", Addr{Mailbox: "soporte@example.com"}, true},
		{"an MTA that upper-cases everything", "SOPORTE+" + strings.ToUpper(tok) + "@EXAMPLE.COM",
			Addr{"soporte@example.com", tok, KindCustomer, ""}, true},
		{"angle brackets from RCPT TO", "<soporte+" + tok + "@example.com>",
			Addr{"soporte@example.com", tok, KindCustomer, ""}, true},
		{"an agent reply address", "soporte+" + tok + "-a-" + tag + "@example.com",
			Addr{"soporte@example.com", tok, KindAgent, tag}, true},
		{"an upper-cased note address", strings.ToUpper("soporte+" + tok + "-n-" + tag + "@example.com"),
			Addr{"soporte@example.com", tok, KindNote, tag}, true},
		{"a mailbox that itself has a plus", "Soporte+ES@example.com", Addr{Mailbox: "soporte+es@example.com"}, true},
		{"the token form of the plus mailbox", "soporte+es+" + tok + "@example.com",
			Addr{"soporte+es@example.com", tok, KindCustomer, ""}, true},
		{"a stranger", "someone@example.com", Addr{}, false},
		{"our local part at another domain", "soporte@evil.example", Addr{}, false},
		{"a longer local part", "soporte2@example.com", Addr{}, false},
		{"a token one char short", "soporte+" + tok[:23] + "@example.com", Addr{}, false},
		{"a token with a digit 1", "soporte+" + tok[:23] + "1@example.com", Addr{}, false},
		{"an unknown kind letter", "soporte+" + tok + "-x-" + tag + "@example.com", Addr{}, false},
		{"a short tag", "soporte+" + tok + "-a-" + tag[:15] + "@example.com", Addr{}, false},
		{"an empty extension", "soporte+@example.com", Addr{}, false},
		{"no domain", "soporte", Addr{}, false},
		{"empty", "", Addr{}, false},
		{"only brackets", "<>", Addr{}, false},
	} {
		got, ok := ParseRecipient(c.addr, mailboxes)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: ParseRecipient(%q) = %+v, %v; want %+v, %v", c.story, c.addr, got, ok, c.want, c.ok)
		}
	}
}
