package threading

import (
	"reflect"
	"strings"
	"testing"
)

func TestMessageIDRoundTrip(t *testing.T) {
	tok := NewToken()
	id := NewMessageID(tok, "desk.example.com")
	if !strings.HasPrefix(id, "tkd."+tok+".") || !strings.HasSuffix(id, "@desk.example.com") || strings.ContainsAny(id, "<>") {
		t.Fatalf("NewMessageID = %q", id)
	}
	if id == NewMessageID(tok, "desk.example.com") {
		t.Fatal("two NewMessageID calls gave the same id")
	}
	for _, form := range []string{id, "<" + id + ">", " <" + strings.ToUpper(id) + "> "} {
		got, ok := TokenFromMessageID(form)
		if !ok || got != tok {
			t.Errorf("TokenFromMessageID(%q) = %q, %v; want %q", form, got, ok, tok)
		}
	}
}

func TestTokenFromMessageIDRejectsOthers(t *testing.T) {
	const tok = "abcdefghijklmnopqrstuvwx"
	for _, id := range []string{
		"",
		"<>",
		"CAF=abc@mail.gmail.com",
		"tkd." + tok + ".abcdefghij",                // no domain
		"tkd." + tok + ".abcdefghij@",               // empty domain
		"tkd." + tok[:23] + ".abcdefghij@x.org",     // short token
		"tkd." + tok + ".abcdefghi@x.org",           // short random part
		"tkd." + tok + "-abcdefghij@x.org",          // wrong separator
		"xyz." + tok + ".abcdefghij@x.org",          // not our prefix
		"tkd." + tok + ".abcdefghi1@x.org",          // 1 is not base32
		"tkd.1bcdefghijklmnopqrstuvwx.abcdefghij@x", // token not base32
	} {
		if got, ok := TokenFromMessageID(id); ok {
			t.Errorf("TokenFromMessageID(%q) = %q, true; want false", id, got)
		}
	}
}

func TestReferencedIDs(t *testing.T) {
	for _, c := range []struct {
		story      string
		inReplyTo  string
		references string
		want       []string
	}{
		{"nothing", "", "", nil},
		{"a plain reply", "<b@x>", "<a@x> <b@x>", []string{"b@x", "a@x"}},
		{"references newest first", "", "<1@x> <2@x> <3@x>", []string{"3@x", "2@x", "1@x"}},
		{"folded whitespace", "", "<1@x>\r\n\t<2@x>\r\n <3@x>", []string{"3@x", "2@x", "1@x"}},
		{"an id folded inside its brackets", "<abc\r\n def@x>", "", []string{"abcdef@x"}},
		{"comments are not ids", "<a@x> (sent by <c@x>)", "", []string{"a@x"}},
		{"missing brackets", "a@x", "1@x 2@x", []string{"a@x", "2@x", "1@x"}},
		{"commas between ids", "", "<1@x>,<2@x>", []string{"2@x", "1@x"}},
		{"an old-style In-Reply-To with an address", `Your message of "Mon" <a@x> from bob@y`, "", []string{"a@x"}},
		{"words without @ are garbage", "hello world", "not an id", nil},
		{"empty brackets", "<>", "< >", nil},
		{"unterminated bracket", "<a@x", "", []string{"a@x"}},
		{"duplicates", "<a@x>", "<a@x> <b@x> <a@x>", []string{"a@x", "b@x"}},
	} {
		got := ReferencedIDs(c.inReplyTo, c.references)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ReferencedIDs(%q, %q) = %q, want %q", c.story, c.inReplyTo, c.references, got, c.want)
		}
	}
}

func TestReferencedIDsIsBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString(" <id" + strings.Repeat("z", i%7) + string(rune('a'+i%26)) + "." + strings.Repeat("q", i%40) + "@x>")
	}
	if got := ReferencedIDs("", b.String()); len(got) != maxReferencedIDs {
		t.Fatalf("got %d ids, want the cap %d", len(got), maxReferencedIDs)
	}
}

func TestSubjectTag(t *testing.T) {
	for _, c := range []struct {
		subject string
		n       int64
		ok      bool
	}{
		{"[#123] Printer on fire", 123, true},
		{"Re: [#7] Printer", 7, true},
		{"RE: AW: Printer [#42]", 42, true},
		{"[#] nothing", 0, false},
		{"[# 12] a space", 0, false},
		{"[#12 ] a space", 0, false},
		{"[#12a] letters", 0, false},
		{"#12 no brackets", 0, false},
		{"[#0] zero is no ticket", 0, false},
		{"[#99999999999999999999] overflow", 0, false},
		{"[x] [#5] second bracket", 5, true},
		{"[#12", 0, false},
		{"", 0, false},
	} {
		n, ok := SubjectTag(c.subject)
		if n != c.n || ok != c.ok {
			t.Errorf("SubjectTag(%q) = %d, %v; want %d, %v", c.subject, n, ok, c.n, c.ok)
		}
	}
}

func TestTagSubject(t *testing.T) {
	for _, c := range []struct {
		subject string
		n       int64
		want    string
	}{
		{"Printer on fire", 12, "[#12] Printer on fire"},
		{"Re: [#12] Printer", 12, "Re: [#12] Printer"},
		{"Re: [#123] Printer", 12, "[#12] Re: [#123] Printer"},
		{"", 5, "[#5]"},
		{"Folded\r\n subject\nline", 5, "[#5] Folded subject line"},
		{"\r\n", 5, "[#5]"},
	} {
		if got := TagSubject(c.subject, c.n); got != c.want {
			t.Errorf("TagSubject(%q, %d) = %q, want %q", c.subject, c.n, got, c.want)
		}
	}
}

func TestAgentRootID(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tok := NewToken()
	a := AgentRootID(key, tok, "ana@example.com", "tickets.example.com")
	if a != AgentRootID(key, tok, "ANA@example.com", "tickets.example.com") {
		t.Fatal("not the same id for the same agent")
	}
	if a == AgentRootID(key, tok, "luis@example.com", "tickets.example.com") || a == AgentRootID(key, NewToken(), "ana@example.com", "tickets.example.com") {
		t.Fatal("two agents or two tickets share a root id")
	}
	if got, ok := TokenFromMessageID("<" + a + ">"); !ok || got != tok {
		t.Fatalf("the root id %q does not carry the token", a)
	}
}
