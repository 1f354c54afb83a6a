package message_test

import (
	"os"
	"path/filepath"
	"testing"

	corpusdir "github.com/ticketd/ticketd/internal/corpus"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Every bounce and auto-reply of the sisimai corpus, with Unix, DOS and old
// Mac line endings, is recognised as automatic through the real parser:
// an unrecognised one would be acknowledged, and two robots can loop.
func TestBouncesAreAutomaticInEveryLineEnding(t *testing.T) {
	root := corpusdir.Dir(t, "sisimai-set-of-emails", "maildir")
	// A person forwarding a bounce with Apple Mail: a human mail.
	human := map[string]bool{"lhost-sendmail-14.eml": true}
	for _, dir := range []string{"bsd", "dos", "mac"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		if len(files) < 50 {
			t.Fatalf("%s: only %d files", dir, len(files))
		}
		for _, f := range files {
			if auto := isAutomatic(t, f); auto == human[filepath.Base(f)] {
				t.Errorf("%s: automatic = %v", f, auto)
			}
		}
	}
}

// The delivery reports, read receipts and complaint reports of the MIME
// corpora are automatic too; ordinary mails of the same corpora are not.
func TestReportsAreAutomatic(t *testing.T) {
	root := corpusdir.Dir(t)
	mk := filepath.Join(root, "jstedfast-MimeKit", "UnitTests", "TestData", "messages")
	reports, _ := filepath.Glob(filepath.Join(root, "jhillyerd-enmime", "dsn", "testdata", "*"))
	for _, n := range []string{"delivery-status.txt", "delivery-status2.txt", "delivery-status-no-blank-line.txt",
		"delivery-status-multiple-blank-lines.txt", "disposition-notification.txt", "feedback-report.txt", "bounce.txt"} {
		reports = append(reports, filepath.Join(mk, n))
	}
	check := func(f string, want bool) {
		if auto := isAutomatic(t, f); auto != want {
			t.Errorf("%s: automatic = %v, want %v", f, auto, want)
		}
	}
	for _, f := range reports {
		check(f, true)
	}
	for _, n := range []string{"simple-multipart.eml", "japanese.txt", "epilogue.txt"} {
		check(filepath.Join(mk, n), false)
	}
}

// isAutomatic reads a mail file through the real parser and tells whether
// ticketd would take it for automatic mail, with the Return-Path (if any)
// as the envelope sender.
func isAutomatic(t *testing.T, file string) bool {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := message.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	sender := "x@example.org"
	if v := p.Header["Return-Path"]; len(v) > 0 {
		sender = v[0]
	}
	auto, _ := threading.IsAutomatic(sender, p.Header, []string{"soporte@example.com"})
	return auto
}
