// Package corpus finds the public mail corpus for the tests that read it.
// The corpus is third-party mail and stays outside the repository; its
// folder is named by the environment variable TICKETD_CORPUS, which
// .ci/run sets. Without it these tests say so and skip (and fail when
// CI=true), while each package's own testdata still covers the same rules.
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Env is the environment variable that names the corpus folder.
const Env = "TICKETD_CORPUS"

// Dir returns the corpus folder joined with sub, or skips the test.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	root := os.Getenv(Env)
	if root == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must give the path of the public mail corpus", Env)
		}
		t.Skipf("%s is not set: set it to the public mail corpus folder to run this test", Env)
	}
	dir := filepath.Join(append([]string{root}, sub...)...)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus folder missing: %v", err)
		}
		t.Skipf("corpus folder missing: %v", err)
	}
	return dir
}
