package smtpd

import (
	"bytes"
)

// RFC 5321 §4.5.1: "RCPT TO:<Postmaster>", without a domain, MUST be
// accepted. go-smtp's address parser (v0.25) refuses any address without a
// domain before the session sees it, so on plain connections the command
// is completed here, below go-smtp, to <postmaster@HOSTNAME>. Only whole
// command lines are touched, and never a byte after a DATA or BDAT
// command until that message is over, so message bytes are never changed.
// (After STARTTLS the bytes here are encrypted; there the form with a
// domain is needed.)

var rcptTo = []byte("rcpt to:")

// rewriteCommands completes bare postmaster recipients in p, which starts
// at a line start when atStart; it reports whether p ends at a line start,
// whether a DATA or BDAT command was passed (the caller then stops
// rewriting until the message is over) and whether STARTTLS was (then it
// stops for good: what follows is encrypted).
func rewriteCommands(p []byte, atStart bool, host string) (out []byte, endsAtStart, data, tls bool) {
	out = make([]byte, 0, len(p)+len(host)+1)
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		p = p[len(line):]
		if !atStart || data || tls {
			out = append(out, line...)
			atStart = line[len(line)-1] == '\n'
			continue
		}
		atStart = line[len(line)-1] == '\n'
		if hasPrefixFold(line, "data") || hasPrefixFold(line, "bdat") {
			data = true
			out = append(out, line...)
			continue
		}
		if hasPrefixFold(line, "starttls") {
			tls = true
			out = append(out, line...)
			continue
		}
		if hasPrefixFold(line, string(rcptTo)) {
			rest := bytes.TrimLeft(line[len(rcptTo):], " ")
			if hasPrefixFold(rest, "<postmaster>") {
				out = append(out, line[:len(line)-len(rest)]...)
				out = append(out, "<postmaster@"+host+">"...)
				out = append(out, rest[len("<postmaster>"):]...)
				continue
			}
		}
		out = append(out, line...)
	}
	return out, atStart, data, tls
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
