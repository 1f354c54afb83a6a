package threading

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrefiltersAreSoundOnOwnReplies: the byte prefilters never hide a
// line of the repository's own replies from the pattern it stands for, as
// TestPrefiltersAreSound checks on the public corpus when it is there.
func TestPrefiltersAreSoundOnOwnReplies(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	wants, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.want"))
	files = append(files, wants...)
	if len(files) < 80 {
		t.Fatalf("only %d files in testdata/replies", len(files))
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(normalizeNL(string(raw)), "\n") {
			checkPrefilters(t, l)
			checkPrefilters(t, strings.ToUpper(l))
			n++
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d lines checked, as sent and upper-cased", n)
}
