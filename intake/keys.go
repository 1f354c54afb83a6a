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

// checkTags verifies the agent (and note) tags of m's targets under keys.
func (m *Mail) checkTags(keys [][]byte) {
	from := m.From()
	for i := range m.Targets {
		tg := &m.Targets[i]
		if tg.addr.Kind == threading.KindAgent || tg.addr.Kind == threading.KindNote {
			tg.tagOK = tagValid(keys, tg.addr.Kind, tg.addr.Token, from, tg.addr.Tag)
		}
	}
}

// tagRefused reports whether a target of m is an agent (or note) address
// whose tag none of the keys verified.
func (m *Mail) tagRefused() bool {
	for _, tg := range m.Targets {
		if (tg.addr.Kind == threading.KindAgent || tg.addr.Kind == threading.KindNote) && !tg.tagOK {
			return true
		}
	}
	return false
}
