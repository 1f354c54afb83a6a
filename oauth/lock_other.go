//go:build !unix

package oauth

// lockFile is a no-op where flock(2) does not exist; the file is still
// read before every refresh.
func lockFile(string) (func(), error) { return func() {}, nil }
