package threading

import (
	"strings"
	"testing"
)

func TestOwnMailComingBackIsAutomatic(t *testing.T) {
	ours := []string{"soporte@example.com"}
	for _, tc := range []struct {
		name   string
		h      map[string][]string
		auto   bool
		reason string
	}{
		{"our X-Loop, From rewritten by a forwarder", map[string][]string{"From": {"Ana via Soporte <ana@example.com>"}, "X-Loop": {"soporte@example.com"}}, true, "our own mail came back"},
		{"our X-Loop with a token form", map[string][]string{"From": {"ana@example.com"}, "X-Loop": {"soporte+abc@example.com"}}, true, "our own mail came back"},
		{"our ticket header kept by a redirect", map[string][]string{"From": {"ana@example.com"}, "X-Ticketd-Ticket": {"12"}}, true, "our own mail came back"},
		{"someone else's X-Loop is still a loop", map[string][]string{"From": {"ana@example.com"}, "X-Loop": {"list@lists.example"}}, true, "X-Loop present"},
		{"RE: Out of Office", map[string][]string{"From": {"ana@example.com"}, "Subject": {"RE: Out of Office"}}, true, "out of office"},
		{"Re[2]: Automatic reply", map[string][]string{"From": {"ana@example.com"}, "Subject": {"Re[2]: Automatic reply: Pedido"}}, true, "automatic reply"},
		{"AW: Abwesenheitsnotiz", map[string][]string{"From": {"ana@example.com"}, "Subject": {"AW: Abwesenheitsnotiz"}}, true, "abwesenheitsnotiz"},
		{"a person replying", map[string][]string{"From": {"carla@cliente.example"}, "Subject": {"Re: [#12] No puedo entrar"}}, false, ""},
		{"a person forwarding a vacation notice", map[string][]string{"From": {"carla@cliente.example"}, "Subject": {"Fwd: Out of office"}}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auto, reason := IsAutomatic("sender@example.net", tc.h, ours)
			if auto != tc.auto || !strings.Contains(strings.ToLower(reason), strings.ToLower(tc.reason)) {
				t.Fatalf("IsAutomatic = %v %q, want %v %q", auto, reason, tc.auto, tc.reason)
			}
		})
	}
}
