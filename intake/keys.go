package intake

import "github.com/ticketd/ticketd/threading"

// agentTagValid reports whether tag is the agent (or note) tag of token and
// agent under one of the keys in force.
func (d *Desk) agentTagValid(kind, token, agent, tag string) bool {
	keys := [][]byte{d.Key}
	if d.VerifyKeys != nil {
		keys = d.VerifyKeys()
	}
	for _, k := range keys {
		want := threading.AgentTag(k, token, agent)
		if kind == "note" {
			want = threading.NoteTag(k, token, agent)
		}
		if threading.TagEqual(want, tag) {
			return true
		}
	}
	return false
}
