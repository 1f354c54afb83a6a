// Package lifecycle owns the statuses of a ticket: the pure transition rules
// (values in, values out, time passed in) and the scheduler that reminds and
// closes.
package lifecycle

// Status keys, canonical and Spanish as the design fixes them.
const (
	Nuevo     = "nuevo"
	Pendiente = "pendiente"
	Abierto   = "abierto"
	Cerrado   = "cerrado"
)

// Valid reports whether s is a status key.
func Valid(s string) bool {
	switch s {
	case Nuevo, Pendiente, Abierto, Cerrado:
		return true
	}
	return false
}

// AfterCustomerReply is the status after a (human) customer reply: a new
// ticket stays new, a pending or closed one opens, an open one stays open.
// reopened is true when a closed ticket came back.
func AfterCustomerReply(status string) (next string, reopened bool) {
	switch status {
	case Nuevo:
		return Nuevo, false
	case Cerrado:
		return Abierto, true
	default:
		return Abierto, false
	}
}

// AfterAgentReply is the status after an agent's public answer.
func AfterAgentReply(string) string { return Pendiente }
