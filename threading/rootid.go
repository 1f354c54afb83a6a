package threading

// AgentRootID is the Message-ID that every mail about one ticket to one
// agent names first in its References (notifications, notes, the desk's
// message), so that her mail client shows them as one thread even though
// the customers' own mails went to others. It is derived, not stored: the
// same key, ticket and agent give the same id, and it carries the ticket's
// token like every Message-ID of ours, so a reply to it threads.
func AgentRootID(key []byte, token, agent, hostname string) string {
	return MessageIDWith(token, tag(key, "root", token, agent)[:10], hostname)
}
