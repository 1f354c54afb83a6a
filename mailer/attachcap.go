package mailer

import (
	"fmt"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/mailer/templates"
)

// Bounds on what one agent notification carries, so that a mail with a
// great many attachments (10,000 one-byte parts, a TNEF of empty records)
// cannot multiply into megabytes per agent. Past them, files are listed
// with a download link instead of attached, and past the list's bound
// only counted.
const (
	NotifyAttachMax   = 10       // files attached to one agent notification
	NotifyAttachBytes = 10 << 20 // their total size
	NotifyListMax     = 50       // files listed by name in one mail
)

// notifyAttachments chooses, for an agent notification about msg, which
// attachments travel in the mail (the first ones, within the bounds) and
// how each is listed; linked ones get their status-page URL when the
// message is public (internal messages are never on the page).
func notifyAttachments(msg *ticketd.Message, trackingURL string) (attach []ticketd.Attachment, list []templates.Attachment, more int) {
	var total int64
	for i, a := range msg.Attachments {
		fits := len(attach) < NotifyAttachMax && total+a.Size <= NotifyAttachBytes
		if fits {
			attach = append(attach, a)
			total += a.Size
		}
		if i >= NotifyListMax {
			more++
			continue
		}
		la := templates.Attachment{Name: a.Filename, Size: a.Size}
		if !fits && !msg.Internal && a.ID != 0 {
			la.URL = fmt.Sprintf("%s/files/%d", trackingURL, a.ID)
		}
		list = append(list, la)
	}
	return attach, list, more
}
