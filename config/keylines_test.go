package config

import (
	"os"
	"testing"
)

func TestKeyLines(t *testing.T) {
	src := `# comment [not.a.table]
top = 1
[server]
hostname = "a # not a comment"   # a comment
"quoted.key" = 'x'
multi = """
fake = 1
[fake]
"""
after_multi = 2
literal = '''
[[also.fake]]
'''
dotted.sub.key = true
when = 1979-05-27 07:32:00Z

[[mailboxes]]
address = "a@example.com"
agents = [
  "x@example.com", # first
  # a comment inside an array
  "y@example.com",
]

[[mailboxes]]
address = "b@example.com"
inline = { name = "n", nested = { deep = 1 } }
list = [{ a = 1 }, { a = 2 }]
escaped = "quote \" [x] \\"
ok = 3
`
	lines := keyLines([]byte(src))
	want := map[string]int{
		"top":                             2,
		"server":                          3,
		"server.hostname":                 4,
		"server.quoted.key":               5,
		"server.multi":                    6,
		"server.after_multi":              10,
		"server.literal":                  11,
		"server.dotted.sub.key":           14,
		"server.when":                     15,
		"mailboxes":                       17,
		"mailboxes[0]":                    17,
		"mailboxes[0].address":            18,
		"mailboxes[0].agents":             19,
		"mailboxes[0].agents[0]":          20,
		"mailboxes[0].agents[1]":          22,
		"mailboxes[1]":                    25,
		"mailboxes[1].address":            26,
		"mailboxes[1].inline.name":        27,
		"mailboxes[1].inline.nested.deep": 27,
		"mailboxes[1].list[1].a":          28,
		"mailboxes[1].escaped":            29,
		"mailboxes[1].ok":                 30,
	}
	for k, line := range want {
		if got, ok := lines[k]; !ok || got != line {
			t.Errorf("%s: line %d (found %v), want %d", k, got, ok, line)
		}
	}
	for _, fake := range []string{"fake", "server.fake", "also", "also.fake", "server.also.fake"} {
		if _, ok := lines[fake]; ok {
			t.Errorf("%q inside a string was taken for a key", fake)
		}
	}
}

func TestLineOfFallsBackToTheEnclosingTable(t *testing.T) {
	lines := map[string]int{"imap": 4, "imap[1]": 9, "imap[1].addr": 10}
	tests := []struct {
		key  string
		want int
	}{
		{"imap[1].addr", 10},
		{"imap[1].username", 9},
		{"imap[2].username", 4},
		{"mailboxes", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := lineOf(lines, tt.key); got != tt.want {
			t.Errorf("lineOf(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// FuzzParse checks that no input makes Parse panic or hang; the line
// scanner in particular must give up quietly on anything unexpected.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../config.example.toml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("a = [\n1,\n{ b = '''x''' },\n]\n[[c.d]]\n[c.d.e]\nf = \"\"\"\\\n\"\"\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		keyLines(data) // also on input the toml library rejects
	})
}
