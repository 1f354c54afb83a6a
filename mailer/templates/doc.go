// Package templates writes every mail ticketd sends, in every supported
// language (see locale.Languages), as a subject, a plain-text body and a
// simple HTML alternative. It produces strings only; the caller adds headers
// (including Auto-Submitted) and MIME.
//
// # Files
//
// The templates are embedded from files/:
//
//	files/layout.tmpl        the HTML frame shared by all languages ("layout"),
//	                         plus the helpers "lines" and "quote" for user text
//	                         and "body" and "quote_body" for the body a mail
//	                         is about (its HTML when Data.HTML is set)
//	files/<lang>/common.tmpl pieces shared by the mails of one language:
//	                         "subj" (subject or "(no subject)"), "hello",
//	                         "bye", "customer", "flagged", "attachments",
//	                         "commands", "tracking", "how_to_answer" and their
//	                         "_html" twins
//	files/<lang>/<kind>.tmpl one mail: {{define "subject"}}, {{define "text"}}
//	                         and {{define "html"}}
//
// For each kind and language the three files are parsed together twice: with
// text/template for "subject" and "text", and with html/template for the
// "layout" (which calls "html"), so everything in the HTML part is escaped by
// context. The subject is made one line afterwards (line breaks and control
// characters become spaces). The text part gets LF line ends and no leading
// blank lines; user text in it is otherwise passed as is.
//
// # Overrides
//
// New(dir) reads any file that exists under dir with the same relative path
// (for example dir/fr/reminder.tmpl or dir/es/common.tmpl) instead of the
// embedded one. Everything is parsed and each kind is rendered once with
// sample data inside New, so a broken override fails New with an error that
// names the file. A .tmpl file under dir that replaces nothing is an error
// too, so a misspelt name does not go unnoticed.
//
// # What templates see
//
// Templates execute on a value that embeds Data (so .Number, .Subject, .Text
// ... work) and adds:
//
//	.StatusName     the status in the mail's language ("En attente")
//	.StatusMeaning  one sentence for the customer (locale.StatusMeaning)
//	.CloseDay       CloseDate in Location, "25 novembre 2026"; "" when zero
//	.CloseOn        the same with its preposition, "le 25 novembre 2026"
//
// and the functions size (a byte count, "1,5 Mo") and lines (user text split
// into lines). Every single-line field of Data has its line breaks removed
// before the templates see it; Text keeps its lines. HTML, when set, is the
// same body as already sanitized HTML (package richtext): it is written as
// it is, and "body" falls back to Text without it. SolvedWord defaults to
// the language's word when empty.
//
// # The mails
//
// Customer mails (Ack, Relay, Reminder, Closed, SolvedThanks) greet the
// customer by name and sign with MailboxName, except Relay, which is the
// agent's text as written plus a short footer. Agent mails (AgentNew,
// AgentReply, AgentReopened, AgentUnverified, AgentOutsider, CommandError, Note, Assigned,
// DeliveryFailed) are short and factual; they show the command names in both
// Spanish and English, as agents may type either. Every subject starts with
// "[#N]". Customer mails use the polite form (usted, vous, você, Lei).
//
// A Set is safe for concurrent use.
package templates
