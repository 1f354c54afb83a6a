package threading

import (
	"strings"
	"testing"

	"github.com/ticketd/ticketd/internal/corpus"
)

// corpusDir locates one project of the public mail corpus (see internal/corpus).
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	return corpus.Dir(t, sub)
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
