package threading

import "strings"

// IsAttribution tells whether line is an attribution ("On <date>, <someone>
// wrote:" and its translations), as CutQuote recognises one. The HTML cut
// uses it for attributions written outside their quote.
func IsAttribution(line string) bool {
	line = strings.TrimSpace(line)
	return len(line) <= maxPatternLine && isAttribution(line)
}

// IsForwardMarker tells whether line opens a forwarded mail
// ("---------- Forwarded message ---------", "Begin forwarded message:").
func IsForwardMarker(line string) bool {
	line = strings.TrimSpace(line)
	return len(line) <= maxPatternLine && reForwarded.MatchString(line)
}

// StartsHistory tells whether text begins with quoted history as CutQuote
// sees it: an attribution, an original-message marker, or an embedded
// header block ("From: ... Sent: ... To: ..."); a forward is not history.
// The HTML cut uses it where a client marks its history with no structure
// of its own.
func StartsHistory(text string) bool {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[:40] // a header block is short
	}
	// A line that stands for "more text below" keeps an attribution
	// without address from being confirmed by the end of a fragment.
	lines = append(lines, "\x00")
	cls := classify(lines)
	i := firstNonEmpty(cls, 0, len(lines)-1)
	if i == len(lines)-1 || IsForwardMarker(lines[i]) {
		return false
	}
	return cls[i] == clsMarker || cls[i] == clsHeader && headerBlock(lines, cls, i)
}

// HistoryLine is the quick test of one line for StartsHistory: marker says
// the line alone opens history (an attribution, an original-message line);
// header says it may open a header block, which only the lines below it
// can confirm.
func HistoryLine(line string) (marker, header bool) {
	line = strings.TrimSpace(line)
	if line == "" || len(line) > maxPatternLine || IsForwardMarker(line) {
		return false, false
	}
	if isAddresslessAttribution(line) && !isAttribution(line) {
		return false, true // only a quote below confirms it (see classify)
	}
	switch classify([]string{line})[0] {
	case clsMarker:
		return true, false
	case clsHeader:
		return false, true
	}
	return false, false
}
