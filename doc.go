// Package ticketd is the domain of the help desk: tickets, their messages,
// attachments and history, the mails they cause, and the store interfaces
// the other packages use to keep them. It imports nothing but the standard
// library; packages such as intake, lifecycle, web and store/sqlite are
// written in its terms.
package ticketd
