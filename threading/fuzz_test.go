package threading

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzCutQuote(f *testing.F) {
	for _, s := range []string{
		"",
		"Thanks.\n\nOn Mon, Feb 1, 2016 at 4:58 AM, X <x@example.com> wrote:\n> hi\n",
		"Hola,\n\n-- \nI want a refund of invoice 44, charged twice.\n",
		"a\r\nb\r> c\n-----Original Message-----\nFrom: x\nSent: 2016\nTo: y\nSubject: z\n",
		"On 2016 <\n\n<\nx@y>\n> wrote:\n\nz",
		"Sent from my iPhone",
		"> a\nb\n> c\nd",
		"Le 1 févr. 2016, X a écrit\u00a0:\n> a",
		"JD> supercite\nanswer",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// As a reply, and as a forward (its subject says so).
		for _, c := range []Cut{CutQuote(in), CutQuoteSubject(in, "Fwd: x")} {
			checkCut(t, in, c)
		}
	})
}

// checkCut holds CutQuote's promises for input in.
func checkCut(t *testing.T, in string, c Cut) {
	t.Helper()
	if strings.TrimSpace(c.New) == "" && !c.Flagged {
		t.Fatalf("blank New not flagged: %+v", c)
	}
	norm := strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\r", "\n")
	// Nothing is invented: every line of New and Removed comes from
	// the input.
	for _, part := range []string{c.New, c.Removed} {
		for _, l := range strings.Split(part, "\n") {
			if !strings.Contains(norm, l) {
				t.Fatalf("line %q is not in the input", l)
			}
		}
	}
	// Nothing is lost: every input line is in New or in Removed.
	for _, l := range strings.Split(norm, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.Contains(c.New, l) && !strings.Contains(c.Removed, l) {
			t.Fatalf("input line %q lost: %+v", l, c)
		}
	}
	if utf8.ValidString(in) && (!utf8.ValidString(c.New) || !utf8.ValidString(c.Removed)) {
		t.Fatalf("valid UTF-8 in, invalid out: %+v", c)
	}
}

func FuzzReferencedIDs(f *testing.F) {
	f.Add("<a@x>", "<1@x> <2@x>")
	f.Add("(comment <c@x>) a@x", "<1@x>,\r\n\t<2@x")
	f.Add("<>", "<<a@x>>")
	f.Fuzz(func(t *testing.T, irt, refs string) {
		ids := ReferencedIDs(irt, refs)
		if len(ids) > maxReferencedIDs {
			t.Fatalf("%d ids, cap is %d", len(ids), maxReferencedIDs)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if id == "" || strings.ContainsAny(id, "<> \t\r\n") {
				t.Fatalf("malformed id %q", id)
			}
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	})
}

func FuzzParseRecipient(f *testing.F) {
	const tok = "abcdefghijklmnopqrstuvwx"
	f.Add("soporte+" + tok + "@example.com")
	f.Add("SOPORTE+" + strings.ToUpper(tok) + "-A-ABCDEFGH23456723@EXAMPLE.COM")
	f.Add("<soporte@example.com>")
	f.Add("a+b+c@d@example.com")
	mailboxes := []string{"soporte@example.com", "soporte+es@example.com", "x@y"}
	f.Fuzz(func(t *testing.T, addr string) {
		a, ok := ParseRecipient(addr, mailboxes)
		if !ok {
			if a != (Addr{}) {
				t.Fatalf("not ok but %+v", a)
			}
			return
		}
		var rebuilt string
		switch a.Kind {
		case KindPlain:
			if a.Token != "" || a.Tag != "" {
				t.Fatalf("plain with token/tag: %+v", a)
			}
			rebuilt = a.Mailbox
		case KindCustomer:
			if !ValidToken(a.Token) || a.Tag != "" {
				t.Fatalf("bad customer address: %+v", a)
			}
			rebuilt = CustomerAddress(a.Mailbox, a.Token)
		case KindAgent, KindNote:
			if !ValidToken(a.Token) || !validTag(a.Tag) {
				t.Fatalf("bad %s address: %+v", a.Kind, a)
			}
			rebuilt = AgentAddress(a.Mailbox, a.Token, a.Tag)
			if a.Kind == KindNote {
				rebuilt = NoteAddress(a.Mailbox, a.Token, a.Tag)
			}
		default:
			t.Fatalf("unknown kind %q", a.Kind)
		}
		// What we accept is exactly what we would have issued, up to case.
		bare := strings.TrimSpace(addr)
		if strings.HasPrefix(bare, "<") && strings.HasSuffix(bare, ">") {
			bare = strings.TrimSpace(bare[1 : len(bare)-1])
		}
		if !strings.EqualFold(rebuilt, bare) {
			t.Fatalf("accepted %q as %+v, which we would write %q", addr, a, rebuilt)
		}
		if b, ok := ParseRecipient(rebuilt, mailboxes); !ok || b != a {
			t.Fatalf("round trip of %q: %+v, %v", rebuilt, b, ok)
		}
	})
}
