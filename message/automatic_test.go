package message_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Every bounce and auto-reply of the sisimai corpus, with Unix, DOS and old
// Mac line endings, is recognised as automatic through the real parser:
// an unrecognised one would be acknowledged, and two robots can loop.
func TestBouncesAreAutomaticInEveryLineEnding(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "corpus", "sisimai-set-of-emails", "maildir")
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("corpus not found:", err)
	}
	// A person forwarding a bounce with Apple Mail: a human mail.
	human := map[string]bool{"lhost-sendmail-14.eml": true}
	for _, dir := range []string{"bsd", "dos", "mac"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		if len(files) < 50 {
			t.Fatalf("%s: only %d files", dir, len(files))
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := message.Parse(raw)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			sender := "x@example.org"
			if v := p.Header["Return-Path"]; len(v) > 0 {
				sender = v[0]
			}
			auto, _ := threading.IsAutomatic(sender, p.Header, []string{"soporte@example.com"})
			if auto == human[filepath.Base(f)] {
				t.Errorf("%s: automatic = %v", f, auto)
			}
		}
	}
}
