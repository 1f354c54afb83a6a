package intake

import (
	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/authresults"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/message"
)

// agentAuthFailure says why an agent's mail through the agent's own reply
// address may not act, or "". With [security] trusted_authserv_id set, the
// reply address and From are not enough: the receiving server must have
// found DKIM or SPF passing for the From domain (see authresults).
func agentAuthFailure(cfg *config.Config, p *message.Parsed, from string) string {
	id := cfg.Security.TrustedAuthservID
	if id == "" {
		return ""
	}
	if ok, why := authresults.Verify(p.Header["Authentication-Results"], id, from); !ok {
		return why
	}
	return ""
}

// notAuthenticated keeps an agent's mail that the receiving server could
// not authenticate: unverified, relayed nowhere, no command run, and its
// sender is told why.
func (p *planner) notAuthenticated(why string) {
	p.existing()
	from := p.m.From()
	p.message(ticketd.AuthorAgent, true, true)
	p.tk.UpdatedAt = p.m.Now
	p.event(ticketd.EventMessageIn, actorOf(from), "not relayed: not authenticated: "+why)
	p.out.Unverified = "not authenticated: " + why
	if p.m.Auto {
		return
	}
	params := p.thread.Reply(p.m.P.MessageID)
	params.Reason = "not authenticated: " + why
	p.send(ticketd.KindAgentUnverified, from, RefThisMessage, params)
}
