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
