package mailer

import "encoding/json"

// Params is what an outbox row needs beyond its columns, decided when the
// row is written so that every retry composes the same mail.
type Params struct {
	Lang       string   `json:"lang,omitempty"`
	InReplyTo  string   `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`
	Cc         []string `json:"cc,omitempty"`
	// Command errors and other notices.
	BadLine string `json:"bad_line,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Actor is the agent (or "system") whose action the mail reports.
	Actor string `json:"actor,omitempty"`
	// Recipient of a mail that failed, for delivery_failed notices.
	Recipient string `json:"recipient,omitempty"`
	// CloseAt is when a pending ticket will close (reminders), RFC 3339.
	CloseAt string `json:"close_at,omitempty"`
}

// Encode returns p as the JSON stored in the outbox row.
func (p Params) Encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// DecodeParams reads an outbox row's params.
func DecodeParams(s string) (Params, error) {
	var p Params
	if s == "" {
		return p, nil
	}
	err := json.Unmarshal([]byte(s), &p)
	return p, err
}

// Outbox row kinds; each is also the name of the template that writes it.
const (
	KindAck             = "ack"
	KindAgentNew        = "agent_new"
	KindAgentReply      = "agent_reply"
	KindAgentReopened   = "agent_reopened"
	KindAgentUnverified = "agent_unverified"
	KindRelay           = "relay"
	KindReminder        = "reminder"
	KindClosed          = "closed"
	KindSolvedThanks    = "solved_thanks"
	KindCommandError    = "command_error"
	KindNote            = "note"
	KindAssigned        = "assigned"
	KindDeliveryFailed  = "delivery_failed"
)
