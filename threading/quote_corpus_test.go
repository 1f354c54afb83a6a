package threading

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trimmerKnown lists discourse email_reply_trimmer cases where our New
// differs from upstream's expectation, with the reason.
var trimmerKnown = knownDiffs{
	// Upstream trims a forward like quoted history; ticketd keeps the
	// forwarded mail, which is what the sender wants read.
	"forwarded_apple.txt":   "forwarded mail kept",
	"forwarded_gmail.txt":   "forwarded mail kept",
	"forwarded_message.txt": "forwarded mail kept",
}

// TestCutQuoteTrimmerCorpus: Discourse's trimmer corpus, 12 languages.
func TestCutQuoteTrimmerCorpus(t *testing.T) {
	root := corpusDir(t, "discourse-email_reply_trimmer")
	files, err := filepath.Glob(filepath.Join(root, "test", "emails", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no trimmer emails found: %v", err)
	}
	seen := map[string]bool{}
	pass := 0
	for _, f := range files {
		name := filepath.Base(f)
		want, err := os.ReadFile(filepath.Join(root, "test", "trimmed", name))
		if err != nil {
			continue // upstream has a few bodies without a trimmed file
		}
		seen[name] = true
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := CutQuote(string(in)).New
		w := strings.TrimSpace(normalizeNL(string(want)))
		ok := got == w
		if ok {
			pass++
		}
		trimmerKnown.check(t, name, ok, func() string { return "New =\n" + got + "\n--- want ---\n" + w })
	}
	trimmerKnown.assertAllSeen(t, seen)
	t.Logf("discourse-email_reply_trimmer: %d/%d match upstream", pass, len(seen))
}

// parserKnown lists github email_reply_parser cases we do not reproduce.
var parserKnown = knownDiffs{}

// readTSV reads an EXPECTED.tsv: header line, then file<TAB>expected...
// with "\n" standing for a newline.
func readTSV(t *testing.T, path string) [][2]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for i, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		if i == 0 || line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			t.Fatalf("%s:%d: malformed line", path, i+1)
		}
		out = append(out, [2]string{f[0], strings.ReplaceAll(f[1], `\n`, "\n")})
	}
	return out
}

// TestCutQuoteReplyParserCorpus: GitHub's classic English cases.
func TestCutQuoteReplyParserCorpus(t *testing.T) {
	root := corpusDir(t, "github-email_reply_parser")
	seen := map[string]bool{}
	pass := 0
	rows := readTSV(t, filepath.Join(root, "EXPECTED.tsv"))
	for _, row := range rows {
		name := row[0]
		seen[name] = true
		in, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		got := CutQuote(string(in)).New
		ok := got == strings.TrimSpace(row[1])
		if ok {
			pass++
		}
		parserKnown.check(t, name, ok, func() string { return "New =\n" + got + "\n--- want ---\n" + row[1] })
	}
	parserKnown.assertAllSeen(t, seen)
	t.Logf("github-email_reply_parser: %d/%d match upstream", pass, len(rows))
}

// talonKnown lists mailgun talon plain-text cases we do not reproduce.
var talonKnown = knownDiffs{
	// Talon keeps signatures; we cut below "-- " as the design asks.
	"tests/fixtures/standard_replies/sparrow.eml": "we cut the -- signature that talon keeps",
}

// TestCutQuoteTalonCorpus runs the full .eml replies (their text/plain
// part). The HTML-only fixtures need an HTML-to-text step that belongs to
// the message parser, not here, so they are left out.
func TestCutQuoteTalonCorpus(t *testing.T) {
	root := corpusDir(t, "mailgun-talon")
	seen := map[string]bool{}
	pass, total := 0, 0
	for _, row := range readTSV(t, filepath.Join(root, "EXPECTED.tsv")) {
		name := row[0]
		if !strings.HasSuffix(name, ".eml") {
			continue // HTML fixtures: see above
		}
		seen[name] = true
		total++
		raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		body, err := plainTextPart(string(raw))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := CutQuote(body).New
		ok := got == strings.TrimSpace(row[1])
		if ok {
			pass++
		}
		talonKnown.check(t, name, ok, func() string { return "New =\n" + got + "\n--- want ---\n" + row[1] })
	}
	talonKnown.assertAllSeen(t, seen)
	t.Logf("mailgun-talon: %d/%d .eml replies match upstream", pass, total)
}

// plainTextPart returns the decoded first text/plain part of a message.
func plainTextPart(raw string) (string, error) {
	m, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(normalizeNL(raw))))
	if err != nil {
		return "", err
	}
	return findPlain(m.Header, m.Body)
}

// header is what mail.Header and textproto.MIMEHeader have in common.
type header interface{ Get(string) string }

func findPlain(h header, body io.Reader) (string, error) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return "", err
			}
			if s, err := findPlain(p.Header, p); err == nil {
				return s, nil
			}
		}
	}
	if mt != "text/plain" {
		return "", io.EOF
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}
