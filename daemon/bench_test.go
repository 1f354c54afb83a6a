package daemon_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// BenchmarkDeliverNewTickets sends new-ticket mails over real SMTP to a
// daemon on loopback, one connection: a fixed amount of work per mail, for
// instruction counts (valgrind) as much as for time.
func BenchmarkDeliverNewTickets(b *testing.B) {
	e := daemontest.Start(b, "")
	body := strings.Repeat("Hola, desde ayer no puedo entrar en mi cuenta, y ya lo he probado todo.\r\n", 140)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := fmt.Sprintf("c%d@cliente.example", i)
		e.MustSend(from, []string{"soporte@example.com"}, mail("From: "+from, "To: soporte@example.com", "Subject: Consulta",
			fmt.Sprintf("Message-ID: <b%d@cliente.example>", i), "", body))
	}
}
