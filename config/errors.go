package config

import (
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string // the config file, as given to Load or Parse; may be empty
	Key  string // the key in TOML spelling, e.g. "mailboxes[1].language"; empty for syntax errors
	Line int    // 1-based line in File; 0 when unknown
	Msg  string // what is wrong and what is allowed
}

// String formats the problem as "FILE:LINE: KEY: MSG", leaving out the parts
// that are unknown, so editors and terminals can jump to the line.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Line > 0 {
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in one configuration file. Parse returns all
// of them at once so an admin fixes the file in one pass, not one error per run.
type Errors []Problem

// Error returns one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
