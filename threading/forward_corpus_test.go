package threading

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/internal/corpus"
)

// The forwarded mails of the public corpus: each names its sender, and
// the words above it are what the corpus calls the text before it.
func TestParseForwardCorpus(t *testing.T) {
	dir := corpus.Dir(t, "discourse-email_reply_trimmer", "test")
	for _, c := range []struct{ name, addr, subject string }{
		{"forwarded_apple", "foo@discourse.org", "This email is going to be forwarded"},
		{"forwarded_gmail", "foo@discourse.org", "This email is going to be forwarded"},
		{"forwarded_message", "foo@bar.com", "Some subject that spans over 2 lines"},
	} {
		text, err := os.ReadFile(filepath.Join(dir, "emails", c.name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, "before", c.name+".txt"))
		fw, ok := ParseForward(string(text))
		if !ok {
			t.Errorf("%s: no forward found", c.name)
			continue
		}
		if fw.FromAddr != c.addr || fw.Subject != c.subject || fw.Above != strings.TrimSpace(string(before)) || !strings.HasPrefix(fw.Text, "") || fw.Text == "" {
			t.Errorf("%s: %+v (before %q)", c.name, fw, before)
		}
	}
}
