package config

import (
	"strconv"
	"strings"
)

// keyLines maps every key, table header and array element of a TOML document
// to the line it starts on, spelled the way Problem.Key spells keys
// ("server.hostname", "mailboxes[1]", "mailboxes[1].agents[0]").
//
// The toml library records key positions but does not export them (v1.6.0),
// and its positions for arrays of tables are not per element, so we find the
// lines ourselves. The document has already been parsed by the library, so
// this scanner may assume valid syntax; on anything unexpected it stops and
// returns what it has, because a missing line number is harmless.
func keyLines(data []byte) map[string]int {
	s := &lineScanner{
		src:    string(data),
		line:   1,
		lines:  make(map[string]int),
		arrays: make(map[string]int),
	}
	s.document()
	return s.lines
}

type lineScanner struct {
	src    string
	i      int
	line   int
	lines  map[string]int
	arrays map[string]int // array-of-tables path → elements seen so far
}

func (s *lineScanner) eof() bool { return s.i >= len(s.src) }

func (s *lineScanner) peek(prefix string) bool {
	return !s.eof() && strings.HasPrefix(s.src[s.i:], prefix)
}

// quoted returns the inside of the quoted string that ran from start to the
// current position, or false when it was not closed.
func (s *lineScanner) quoted(start int) (string, bool) {
	end := min(s.i, len(s.src))
	if end-start < 2 || s.src[end-1] != s.src[start] {
		return "", false
	}
	return s.src[start+1 : end-1], true
}

func (s *lineScanner) record(path string, line int) {
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

// skip passes over spaces and tabs, and also newlines and comments when
// multiline is set.
func (s *lineScanner) skip(multiline bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '\n' && multiline:
			s.line++
			s.i++
		case c == '#' && multiline:
			for !s.eof() && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

func (s *lineScanner) document() {
	context := ""
	for {
		s.skip(true)
		if s.eof() {
			return
		}
		start := s.i
		line := s.line
		switch {
		case s.peek("[["):
			s.i += 2
			context = s.tablePath(s.key(), true)
			s.record(context, line)
			s.skip(false)
			s.i += 2 // "]]"
		case s.peek("["):
			s.i++
			context = s.tablePath(s.key(), false)
			s.record(context, line)
			s.skip(false)
			s.i++ // "]"
		default:
			path := join(context, s.key()...)
			s.record(path, line)
			s.skip(false)
			if s.eof() || s.src[s.i] != '=' {
				return
			}
			s.i++
			s.skip(false)
			s.value(path)
		}
		if s.i == start {
			return // not valid TOML after all; give up quietly
		}
	}
}

// tablePath turns a header's key parts into a path, inserting the current
// element index wherever a part names an array of tables.
func (s *lineScanner) tablePath(parts []string, isArray bool) string {
	path := ""
	for j, p := range parts {
		path = join(path, p)
		if isArray && j == len(parts)-1 {
			s.arrays[path]++
			s.record(path, s.line) // the whole array, for "unknown section"
		}
		if n, ok := s.arrays[path]; ok {
			path += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return path
}

// key reads a possibly dotted, possibly quoted key.
func (s *lineScanner) key() []string {
	var parts []string
	for {
		s.skip(false)
		if s.eof() {
			return parts
		}
		switch s.src[s.i] {
		case '"':
			start := s.i
			s.basicString()
			inner, ok := s.quoted(start)
			if !ok {
				return parts
			}
			if v, err := strconv.Unquote(`"` + inner + `"`); err == nil {
				inner = v
			}
			parts = append(parts, inner)
		case '\'':
			start := s.i
			s.literalString()
			inner, ok := s.quoted(start)
			if !ok {
				return parts
			}
			parts = append(parts, inner)
		default:
			start := s.i
			for !s.eof() && isBareKeyChar(s.src[s.i]) {
				s.i++
			}
			if s.i == start {
				return parts
			}
			parts = append(parts, s.src[start:s.i])
		}
		s.skip(false)
		if s.eof() || s.src[s.i] != '.' {
			return parts
		}
		s.i++
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value, recording the lines of array elements and of keys
// inside inline tables.
func (s *lineScanner) value(path string) {
	if s.eof() {
		return
	}
	switch {
	case s.peek(`"""`):
		s.multilineString(`"""`)
	case s.peek(`'''`):
		s.multilineString(`'''`)
	case s.peek(`"`):
		s.basicString()
	case s.peek(`'`):
		s.literalString()
	case s.peek("["):
		s.i++
		for n := 0; ; n++ {
			s.skip(true)
			if s.eof() {
				return
			}
			if s.src[s.i] == ']' {
				s.i++
				return
			}
			elem := path + "[" + strconv.Itoa(n) + "]"
			s.record(elem, s.line)
			start := s.i
			s.value(elem)
			s.skip(true)
			if !s.eof() && s.src[s.i] == ',' {
				s.i++
			} else if s.i == start {
				return
			}
		}
	case s.peek("{"):
		s.i++
		for {
			s.skip(true)
			if s.eof() {
				return
			}
			if s.src[s.i] == '}' {
				s.i++
				return
			}
			line := s.line
			k := join(path, s.key()...)
			s.record(k, line)
			s.skip(false)
			if s.eof() || s.src[s.i] != '=' {
				return
			}
			s.i++
			s.skip(false)
			s.value(k)
			s.skip(true)
			if !s.eof() && s.src[s.i] == ',' {
				s.i++
			}
		}
	default:
		// Numbers, booleans and dates; a date may contain a space, so stop
		// only at what can follow a value.
		for !s.eof() && !strings.ContainsRune(",]}#\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

func (s *lineScanner) basicString() {
	s.i++ // opening quote
	for !s.eof() {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return
		case '\n':
			return
		}
		s.i++
	}
}

func (s *lineScanner) literalString() {
	s.i++
	for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
		s.i++
	}
	if !s.eof() && s.src[s.i] == '\'' {
		s.i++
	}
}

func (s *lineScanner) multilineString(delim string) {
	s.i += len(delim)
	for !s.eof() {
		switch {
		case delim == `"""` && s.src[s.i] == '\\':
			if s.i+1 < len(s.src) && s.src[s.i+1] == '\n' {
				s.line++
			}
			s.i += 2
			continue
		case s.peek(delim):
			s.i += len(delim)
			// Up to two quotes right before the delimiter belong to the string.
			for n := 0; n < 2 && !s.eof() && s.src[s.i] == delim[0]; n++ {
				s.i++
			}
			return
		case s.src[s.i] == '\n':
			s.line++
		}
		s.i++
	}
}

// join appends key parts to a path with dots.
func join(path string, parts ...string) string {
	for _, p := range parts {
		if path == "" {
			path = p
		} else {
			path += "." + p
		}
	}
	return path
}

// lineOf finds the line of key, or of the nearest enclosing key or table when
// the key itself is not in the file (a missing required key is best shown at
// its table's header).
func lineOf(lines map[string]int, key string) int {
	for key != "" {
		if n, ok := lines[key]; ok {
			return n
		}
		cut := strings.LastIndexAny(key, ".[")
		if cut < 0 {
			return 0
		}
		key = key[:cut]
	}
	return 0
}
