package threading

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir locates the shared mail corpus. CI copies shared/ beside the
// repository, so it is ../shared/corpus from the repository root.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "corpus", sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing at %s: %v", dir, err)
		}
		t.Skipf("corpus not found at %s (set up ../shared beside the repo; CI=true makes this fatal)", dir)
	}
	return dir
}

// normalizeNL turns CRLF and bare CR into LF.
func normalizeNL(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// knownDiffs checks results against a list of accepted differences: a case
// not listed must pass, and a listed case must still fail, so the list can
// only shrink.
type knownDiffs map[string]string // case name -> why we differ

func (k knownDiffs) check(t *testing.T, name string, pass bool, detail func() string) {
	t.Helper()
	why, listed := k[name]
	switch {
	case pass && listed:
		t.Errorf("%s: listed as a known difference (%s) but now passes: remove it from the list", name, why)
	case !pass && !listed:
		t.Errorf("%s: %s", name, detail())
	}
}

func (k knownDiffs) assertAllSeen(t *testing.T, seen map[string]bool) {
	t.Helper()
	for name := range k {
		if !seen[name] {
			t.Errorf("known difference %s names no corpus case: remove it", name)
		}
	}
}
