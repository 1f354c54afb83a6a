package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a Go duration string such
// as "90s", "15m" or "72h".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	v, err := time.ParseDuration(s)
	if err != nil {
		// "3d" is the most common mistake; Go durations stop at hours.
		if strings.HasSuffix(s, "d") {
			return fmt.Errorf("invalid duration %q: days are not a unit, use hours (e.g. \"72h\")", s)
		}
		return fmt.Errorf("invalid duration %q: use a Go duration such as \"90s\", \"15m\" or \"72h\"", s)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back in the form UnmarshalText reads.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}
