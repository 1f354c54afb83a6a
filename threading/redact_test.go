package threading

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tok := NewToken()
	cases := []string{
		"soporte+" + tok + "@example.com",
		"SOPORTE+" + strings.ToUpper(tok) + "-A-ABCDEFGHIJKLMNOP@EXAMPLE.COM",
		"RCPT TO:<soporte+" + tok + "-n-abcdefghijklmnop@example.com> refused",
		"<" + NewMessageID(tok, "tickets.example.com") + ">",
	}
	for _, c := range cases {
		got := Redact(c)
		if strings.Contains(strings.ToLower(got), tok) {
			t.Errorf("Redact(%q) = %q still carries the token", c, got)
		}
		if !strings.Contains(got, "…@") {
			t.Errorf("Redact(%q) = %q lost the address shape", c, got)
		}
	}
	for _, keep := range []string{"carla@cliente.example", "soporte@example.com", "a+b@x.example", "<abc@x>"} {
		if got := Redact(keep); got != keep {
			t.Errorf("Redact(%q) = %q, want it unchanged", keep, got)
		}
	}
}
