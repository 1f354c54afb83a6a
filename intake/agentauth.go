package intake

import (
	"github.com/ticketd/ticketd/authresults"
	"github.com/ticketd/ticketd/mailer"
	"github.com/ticketd/ticketd/store"
	"github.com/ticketd/ticketd/threading"
)

// agentAuthFailure says why an agent's mail through the agent's own reply
// address may not act, or "". With [security] trusted_authserv_id set, the
// reply address and From are not enough: the receiving server must have
// found DKIM or SPF passing for the From domain (see authresults).
func agentAuthFailure(in *incoming, from string) string {
	id := in.cfg.Security.TrustedAuthservID
	if id == "" {
		return ""
	}
	if ok, why := authresults.Verify(in.p.Header["Authentication-Results"], id, from); !ok {
		return why
	}
	return ""
}

// agentMailIfAuthenticated is agentMail for a mail that authenticates; any
// other is kept as unverified, relayed nowhere, and its From is told why.
func (a *action) agentMailIfAuthenticated(note bool) error {
	from := a.in.from()
	why := agentAuthFailure(a.in, from)
	if why == "" {
		return a.agentMail(note)
	}
	m, err := a.storeMessage(store.AuthorAgent, true, true)
	if err != nil {
		return err
	}
	a.tk.UpdatedAt = a.in.now
	if err := a.tx.SaveTicket(a.tk); err != nil {
		return err
	}
	if err := a.event("message_in", actorOf(from), "not relayed: not authenticated: "+why); err != nil {
		return err
	}
	a.d.Log.Warn("agent mail not authenticated", "ticket", a.tk.Number, "from", threading.Redact(from), "why", why)
	if a.in.auto {
		return nil
	}
	p, err := a.threadParams(a.in.p.MessageID)
	if err != nil {
		return err
	}
	p.Reason = "not authenticated: " + why
	return a.enqueue(mailer.KindAgentUnverified, from, m.ID, p)
}
