package message_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/richtext"
	"github.com/ticketd/ticketd/threading"
)

// publicCorpus is the third-party corpus named by TICKETD_CORPUS: skipped
// when unset, fatal with CI=true.
func publicCorpus(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TICKETD_CORPUS")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TICKETD_CORPUS is not set")
		}
		t.Skip("TICKETD_CORPUS is not set: no public corpus to measure")
	}
	return dir
}

// cutCase is one mail of the public corpora with the new text its
// upstream expects.
type cutCase struct {
	corpus, name, client, lang string
	text                       string // the body as ticketd reads it
	html                       string // the HTML body, for the HTML cut
	want                       string
	embedded                   string // the forwarded mail, which must stay below want
	forward                    bool
}

// clientOf names the client a corpus file was written by, from its name.
func clientOf(name string) string {
	low := strings.ToLower(name)
	for _, c := range [][2]string{{"gmail", "Gmail"}, {"hotmail", "Hotmail/Outlook.com"}, {"outlook", "Outlook"}, {"olk", "Outlook"},
		{"thunderbird", "Thunderbird"}, {"apple", "Apple Mail"}, {"iphone", "iPhone Mail"}, {"blackberry", "BlackBerry"},
		{"yahoo", "Yahoo"}, {"aol", "AOL"}, {"comcast", "Comcast (Zimbra)"}, {"sparrow", "Sparrow"}, {"yandex", "Yandex"},
		{"mail_ru", "Mail.ru"}, {"windows_mail", "Windows Mail"}} {
		if strings.Contains(low, c[0]) {
			return c[1]
		}
	}
	return "other / unnamed"
}

// langOf is the language of the mail's history marker (attribution or
// forward line), "en" when there is none to tell.
func langOf(text string) string {
	low := strings.ToLower(text)
	for _, c := range [][2]string{{"escribió", "es"}, {"mensaje original", "es"}, {"a écrit", "fr"}, {"message d'origine", "fr"},
		{"schrieb", "de"}, {"ursprüngliche nachricht", "de"}, {"escreveu", "pt"}, {"ha scritto", "it"}, {"schreef", "nl"},
		{"napisał", "pl"}, {"написал", "ru"}, {"пише", "uk"}, {"skrev", "sv/no"}, {"写道", "zh"}, {"寫道", "zh"}} {
		if strings.Contains(low, c[0]) {
			return c[1]
		}
	}
	return "en"
}

func readCases(t *testing.T, root string) []cutCase {
	t.Helper()
	var out []cutCase
	trim := filepath.Join(root, "discourse-email_reply_trimmer", "test")
	files, _ := filepath.Glob(filepath.Join(trim, "emails", "*.txt"))
	for _, f := range files {
		name := filepath.Base(f)
		want, err := os.ReadFile(filepath.Join(trim, "trimmed", name))
		if err != nil {
			continue
		}
		in, _ := os.ReadFile(f)
		c := cutCase{corpus: "trimmer", name: name, client: clientOf(name), text: string(in), want: string(want)}
		if strings.HasPrefix(name, "forwarded_") {
			emb, _ := os.ReadFile(filepath.Join(trim, "embedded", name))
			before, _ := os.ReadFile(filepath.Join(trim, "before", name))
			c.want, c.embedded, c.forward = string(before), string(emb), true
		}
		c.lang = langOf(c.text)
		out = append(out, c)
	}
	for _, corpus := range []string{"github-email_reply_parser", "mailgun-talon"} {
		b, err := os.ReadFile(filepath.Join(root, corpus, "EXPECTED.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n")[1:] {
			f := strings.Split(line, "\t")
			if len(f) < 2 {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(root, corpus, filepath.FromSlash(f[0])))
			if err != nil {
				t.Fatal(err)
			}
			c := cutCase{corpus: corpus, name: f[0], client: clientOf(f[0]), want: strings.ReplaceAll(f[1], `\n`, "\n"), text: string(raw)}
			if corpus == "mailgun-talon" {
				if strings.HasSuffix(f[0], ".html") {
					raw = append([]byte("From: a@example.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"), raw...)
				}
				p, err := message.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				c.text, c.html = p.Text, p.HTML
			}
			c.lang = langOf(c.text)
			out = append(out, c)
		}
	}
	return out
}

// same compares as upstream does: talon without white space, the others
// trimmed; a forward's expected text must all be there (quote marks aside).
func same(c cutCase, got string) bool {
	flat := func(s string) string { return strings.Join(strings.Fields(strings.ReplaceAll(s, ">", " ")), "") }
	switch {
	case c.forward:
		return strings.HasPrefix(flat(got), flat(c.want)) && strings.Contains(flat(got), flat(c.embedded))
	case c.corpus == "mailgun-talon":
		return flat(got) == flat(c.want)
	}
	return strings.TrimSpace(got) == strings.TrimSpace(strings.ReplaceAll(c.want, "\r\n", "\n"))
}

type tally struct{ right, total, htmlRight, htmlTotal int }

// TestCutRatesOnPublicCorpora measures how often the new text is cut right
// per client and language, for docs/mail-fidelity.md. The floors keep the
// rates from falling unnoticed.
func TestCutRatesOnPublicCorpora(t *testing.T) {
	root := publicCorpus(t)
	rows := map[[2]string]*tally{}
	var all tally
	for _, c := range readCases(t, root) {
		k := [2]string{c.client, c.lang}
		if rows[k] == nil {
			rows[k] = &tally{}
		}
		r := rows[k]
		r.total++
		all.total++
		if same(c, threading.CutQuote(c.text).New) {
			r.right++
			all.right++
		} else {
			t.Logf("text cut differs: %s %s", c.corpus, c.name)
		}
		if strings.TrimSpace(c.html) != "" {
			r.htmlTotal++
			all.htmlTotal++
			if same(c, richtext.Prepare(c.html, richtext.Options{}).Text) {
				r.htmlRight++
				all.htmlRight++
			} else {
				t.Logf("HTML cut differs: %s %s: %.300q", c.corpus, c.name, richtext.Prepare(c.html, richtext.Options{}).Text)
			}
		}
	}
	keys := make([][2]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	var sb strings.Builder
	sb.WriteString("| client | language | text cut right | HTML cut right |\n|---|---|---|---|\n")
	for _, k := range keys {
		r := rows[k]
		html := "—"
		if r.htmlTotal > 0 {
			html = fmt.Sprintf("%d/%d", r.htmlRight, r.htmlTotal)
		}
		fmt.Fprintf(&sb, "| %s | %s | %d/%d | %s |\n", k[0], k[1], r.right, r.total, html)
	}
	fmt.Fprintf(&sb, "| **all** | | **%d/%d** | **%d/%d** |\n", all.right, all.total, all.htmlRight, all.htmlTotal)
	t.Log("\n" + sb.String())
	if all.right < 88 || all.htmlRight < 13 {
		t.Errorf("cut rates fell: text %d/%d, HTML %d/%d", all.right, all.total, all.htmlRight, all.htmlTotal)
	}
}
