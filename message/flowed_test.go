package message

import "testing"

// RFC 3676 as Thunderbird and Apple Mail write it.
func TestDecodeFlowed(t *testing.T) {
	for _, c := range []struct {
		story, in string
		delsp     bool
		want      string
	}{
		{"soft breaks join a paragraph", "Die Nummer ist \n2026-0042.\n\nDanke", false, "Die Nummer ist 2026-0042.\n\nDanke"},
		{"DelSp removes the space that marked the break", "Okto \nber", true, "Oktober"},
		{"without DelSp the space stays", "Okto \nber", false, "Okto ber"},
		{"quoted paragraphs join at their depth", "> one \n> two\n>> three \n>> four", false, "> one two\n>> three four"},
		{"a change of depth ends a paragraph", "> one \nnew text", false, "> one\nnew text"},
		{"space-stuffing is undone", " From here\n >not a quote", false, "From here\n>not a quote"},
		{"the signature separator is never a soft break", "Carla \n-- \nCarla Ruiz", false, "Carla\n-- \nCarla Ruiz"},
		{"CRLF line ends", "a \r\nb\r\n", false, "a b\n"},
	} {
		if got := DecodeFlowed(c.in, c.delsp); got != c.want {
			t.Errorf("%s: DecodeFlowed(%q) = %q, want %q", c.story, c.in, got, c.want)
		}
	}
}
