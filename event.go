package ticketd

import "time"

// EventType names an entry of a ticket's history.
type EventType string

// The history's entries.
const (
	EventCreated             EventType = "created"
	EventMessageIn           EventType = "message_in"
	EventMessageOut          EventType = "message_out"
	EventNote                EventType = "note"
	EventStatus              EventType = "status"
	EventClosed              EventType = "closed"
	EventReopened            EventType = "reopened"
	EventAssigned            EventType = "assigned"
	EventAccepted            EventType = "accepted"
	EventPriority            EventType = "priority"
	EventTag                 EventType = "tag"
	EventUntag               EventType = "untag"
	EventReminder            EventType = "reminder"
	EventAutoreplySuppressed EventType = "autoreply_suppressed"
	EventDelivered           EventType = "delivered"
	EventDeliveryFailed      EventType = "delivery_failed"
)

// ActorSystem is the actor of what ticketd does by itself (scheduler, outbox).
const ActorSystem = "system"

// Event is one entry of a ticket's history.
type Event struct {
	ID     int64
	Ticket int64
	Type   EventType
	Actor  string
	At     time.Time
	Detail string
}
