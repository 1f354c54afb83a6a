package threading

import (
	"net/mail"
	"regexp"
	"strings"
)

// Forward is a mail forwarded inline, as Gmail, Outlook, Apple Mail and
// Thunderbird write it: the forwarder's own words, a marker line or a
// block of header lines, then the forwarded mail's text.
type Forward struct {
	Above    string // what the forwarder wrote above the forwarded mail
	FromName string
	FromAddr string // lower case
	Subject  string
	Text     string // the forwarded mail's text
}

var (
	reMailtoTail = regexp.MustCompile(`(?i)<mailto:[^>]*>|\[mailto:[^\]]*\]`)
	reBareAddr   = regexp.MustCompile(`[^\s<>"'\[\]():;,*]+@[^\s<>"'\[\]():;,*]+\.[^\s<>"'\[\]():;,*]+`)
	reFwdRule    = regexp.MustCompile(`^[ \t]*[-_=*]{3,}[ \t]*$`)
	// Outlook's localized date lines that the quote cutter's header pattern does not know.
	reFwdDate   = regexp.MustCompile(`(?i)^[ \t*>]*(enviado el|envoyé le|inviato|gesendet am)[ \t*]*:`)
	subjectKeys = []string{"subject", "asunto", "objet", "assunto", "oggetto", "betreff", "onderwerp"}
	fromKeys    = []string{"from", "de", "von", "da", "van", "expéditeur"}
)

// ParseForward finds an inline forward in text. It needs a header block
// naming the forwarded mail's sender (a From line with an address), after
// a forward marker ("---------- Forwarded message ---------", "Begin
// forwarded message:", "-------- Mensaje reenviado --------", …) or, as
// Outlook writes it, on its own after a rule.
func ParseForward(text string) (Forward, bool) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		rest := lines
		if quotePrefix(l) != "" {
			// Apple Mail may quote what it forwards: read it unquoted.
			rest = make([]string, len(lines))
			copy(rest, lines)
			for k := i + 1; k < len(rest); k++ {
				rest[k] = strings.TrimPrefix(strings.TrimPrefix(strings.TrimLeft(rest[k], " \t"), ">"), " ")
			}
		}
		start := -1
		switch {
		case len(l) <= maxPatternLine && reForwarded.MatchString(l):
			start = i + 1
			for start < len(rest) && strings.TrimSpace(rest[start]) == "" {
				start++
			}
		case reHeaderFrom.MatchString(l) && (i == 0 || blankOrRule(lines[i-1])):
			start = i
		default:
			continue
		}
		fw, end, ok := headerBlock2(rest, start)
		if !ok {
			continue
		}
		lines = rest
		above := lines[:i]
		for len(above) > 0 && blankOrRule(above[len(above)-1]) {
			above = above[:len(above)-1]
		}
		fw.Above = strings.TrimSpace(strings.Join(above, "\n"))
		fw.Text = strings.TrimSpace(strings.Join(lines[end:], "\n"))
		return fw, true
	}
	return Forward{}, false
}

func blankOrRule(l string) bool { return strings.TrimSpace(l) == "" || reFwdRule.MatchString(l) }

// headerBlock2 reads the header lines of a forwarded mail from lines[i]
// and returns its sender and subject, and the line after the block. It
// needs a From line with an address and one more header line.
func headerBlock2(lines []string, i int) (Forward, int, bool) {
	var fw Forward
	n := 0
	j := i
	last := ""
	for ; j < len(lines); j++ {
		l := lines[j]
		if !reHeader.MatchString(l) && !reFwdDate.MatchString(l) {
			// A long subject folded onto the next line, as Gmail writes it.
			if last == "subject" && strings.TrimSpace(l) != "" && j+1 < len(lines) && reHeader.MatchString(lines[j+1]) {
				fw.Subject += " " + strings.TrimSpace(l)
				continue
			}
			break
		}
		n++
		key, value, _ := strings.Cut(strings.ReplaceAll(l, "：", ":"), ":")
		key = strings.ToLower(strings.Trim(strings.TrimSpace(key), "*> \t"))
		value = strings.TrimSpace(strings.Trim(strings.TrimSpace(value), "*"))
		switch {
		case containsWord(fromKeys, key) && fw.FromAddr == "":
			fw.FromName, fw.FromAddr = forwardedSender(value)
		case containsWord(subjectKeys, key):
			fw.Subject = value
			last = "subject"
			continue
		}
		last = ""
	}
	if fw.FromAddr == "" || n < 2 {
		return Forward{}, 0, false
	}
	return fw, j, true
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// forwardedSender reads "Carla Ruiz <carla@x>", "*Carla Ruiz*
// <carla@x>", "Carla Ruiz [mailto:carla@x]" or a bare address.
func forwardedSender(v string) (name, addr string) {
	clean := strings.ReplaceAll(v, "*", "")
	if m := reMailtoTail.FindString(clean); strings.HasPrefix(m, "[") {
		clean = strings.TrimSpace(reMailtoTail.ReplaceAllString(clean, "")) + " <" + strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(m), "[mailto:"), "]") + ">"
	} else {
		clean = reMailtoTail.ReplaceAllString(clean, "")
	}
	if a, err := mail.ParseAddress(clean); err == nil {
		return a.Name, strings.ToLower(a.Address)
	}
	loc := reBareAddr.FindStringIndex(clean)
	if loc == nil {
		return "", ""
	}
	addr = strings.ToLower(strings.Trim(clean[loc[0]:loc[1]], "."))
	name = strings.Trim(strings.TrimSpace(clean[:loc[0]]), `"'<`)
	return strings.TrimSpace(name), addr
}

// quotePrefix is the "> " a quoted line starts with, if any.
func quotePrefix(l string) string {
	t := strings.TrimLeft(l, " \t")
	if strings.HasPrefix(t, ">") {
		return ">"
	}
	return ""
}
