package intake

import "github.com/ticketd/ticketd/threading"

// keys returns every key an agent address may be signed with: after a
// rotation the old ones keep verifying for a while.
func (d *Desk) keys() [][]byte {
	if d.VerifyKeys != nil {
		return d.VerifyKeys()
	}
	return [][]byte{d.Key}
}

// tagValid reports whether tag is the agent (or note) tag of token and
// agent under one of keys.
func tagValid(keys [][]byte, kind, token, agent, tag string) bool {
	for _, k := range keys {
		want := threading.AgentTag(k, token, agent)
		if kind == threading.KindNote {
			want = threading.NoteTag(k, token, agent)
		}
		if threading.TagEqual(want, tag) {
			return true
		}
	}
	return false
}
