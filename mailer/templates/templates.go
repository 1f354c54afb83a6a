package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/ticketd/ticketd/locale"
)

// Kind names one mail the daemon writes.
type Kind string

// The mails, each with who receives it.
const (
	Ack             Kind = "ack"              // customer: new ticket received
	AgentNew        Kind = "agent_new"        // agents: new ticket
	AgentReply      Kind = "agent_reply"      // agents: the customer replied
	AgentReopened   Kind = "agent_reopened"   // agents: the customer replied to a closed ticket
	AgentUnverified Kind = "agent_unverified" // agents: a mail we could not verify as an agent's, not sent
	AgentOutsider   Kind = "agent_outsider"   // agents: a mail through the ticket's token from outside it
	Relay           Kind = "relay"            // customer: an agent's answer
	Reminder        Kind = "reminder"         // customer: we are waiting for your answer
	Closed          Kind = "closed"           // customer: closed for lack of an answer
	SolvedThanks    Kind = "solved_thanks"    // customer: closed because you said it is solved
	CommandError    Kind = "command_error"    // agent: a command line could not be run
	Note            Kind = "note"             // other agents: an internal note
	Assigned        Kind = "assigned"         // agent: a ticket was assigned to you
	DeliveryFailed  Kind = "delivery_failed"  // agents: a mail could not be delivered
	Digest          Kind = "digest"           // agent: the tickets waiting for her (daily, or on #lista)
	AgentHelp       Kind = "agent_help"       // agent: her mail to the support address opened nothing; how to forward
	Colleague       Kind = "colleague"        // agents: a colleague took or answered a ticket they were told of
)

// Kinds lists every Kind; New checks that each exists in every language.
var Kinds = []Kind{
	Ack, AgentNew, AgentReply, AgentReopened, AgentUnverified, AgentOutsider, Relay, Reminder,
	Closed, SolvedThanks, CommandError, Note, Assigned, DeliveryFailed, Digest, AgentHelp, Colleague,
}

// DigestItem is one ticket of a digest.
type DigestItem struct {
	Number       int64
	Subject      string
	Customer     string // name and address
	Status       string // status key
	StatusName   string // filled in the mail's language
	Age          time.Duration
	ReplyAddress string // the agent's own reply address for the ticket
}

// Attachment describes one file that came with a message.
type Attachment struct {
	Name string
	Size int64  // bytes
	URL  string // where to download it, when it is listed instead of attached
}

// Data is everything a template may show. Each kind uses the fields it needs;
// the doc comment of the package says which.
type Data struct {
	Lang                          string
	MailboxName, MailboxAddress   string
	Number                        int64
	Subject                       string // the ticket subject; may be empty
	Status                        string // status key (locale.StatusNew, ...)
	TrackingURL                   string
	CustomerName, CustomerAddress string
	AgentName                     string            // the acting agent
	Text                          string            // the body text this mail is about
	HTML                          htmltemplate.HTML // the same body as sanitized HTML (richtext), "" to show Text
	Flagged                       bool              // Text is the full text because quote cutting was unsure
	Attachments                   []Attachment
	MoreAttachments               int // files neither attached nor listed
	CloseDate                     time.Time
	Location                      *time.Location
	SolvedWord                    string       // the word a customer replies to mark a ticket solved
	SolvedMailto                  string       // a complete mailto: URL that sends SolvedWord
	ReplyAddress                  string       // where replies go
	NoteAddress                   string       // where agents send internal notes
	BadLine, Reason               string       // CommandError; Reason also for DeliveryFailed
	Recipient                     string       // DeliveryFailed
	From                          string       // AgentUnverified, AgentOutsider: who really sent it
	Items                         []DigestItem // Digest
	// Where an agents' mail says the ticket stands: its assignee (address
	// and name; "" for nobody) and priority key.
	Assignee, AssigneeName string
	Priority               string
	Action                 string // Colleague: "took" or "answered"

	// Render fills these in the mail's language; what a caller sets is
	// replaced. They sit in Data itself, not in a struct around it, because
	// templates look fields up by name on every use, and a promoted field
	// costs reflect a search of the embedded struct each time.
	PriorityName  string // the priority in the mail's language
	StatusName    string // the status in the mail's language
	StatusMeaning string // one sentence for the customer
	CloseDay      string // CloseDate as "25 November 2026"; "" when zero
	CloseOn       string // CloseDate as "on 25 November 2026"; "" when zero
}

// Mail is one rendered mail. Text and HTML are alternatives of the same body;
// the caller adds headers and MIME.
type Mail struct{ Subject, Text, HTML string }

var solvedWords = map[string]string{
	"es": "resuelto", "en": "solved", "fr": "résolu", "pt": "resolvido", "it": "risolto",
}

// SolvedWord returns the word a customer replies, in lang, to tell us the
// problem is solved. Unknown languages get the English word.
func SolvedWord(lang string) string {
	if w, ok := solvedWords[lang]; ok {
		return w
	}
	return solvedWords["en"]
}

//go:embed files
var embedded embed.FS

// layoutFile wraps every HTML body; it is shared by all languages.
const layoutFile = "layout.tmpl"

// commonFile holds each language's shared pieces (greeting, sign-off, the
// command list...). It is parsed together with every kind of that language.
const commonFile = "common.tmpl"

// Set holds every kind in every language, parsed and checked.
type Set struct {
	text map[string]*texttemplate.Template // key: lang + "/" + kind
	html map[string]*htmltemplate.Template
}

// New parses the embedded templates, replacing any file that also exists
// under overrideDir with the same relative path (for example
// "fr/reminder.tmpl"). An empty overrideDir means embedded files only. Every
// kind is rendered once with sample data, so a template that would fail at
// run time fails here, with the name of the file.
func New(overrideDir string) (*Set, error) {
	src := source{embedded: mustSub(embedded, "files")}
	if overrideDir != "" {
		info, err := os.Stat(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("templates: override directory: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("templates: override directory %s is not a directory", overrideDir)
		}
		src.dir, src.override = overrideDir, os.DirFS(overrideDir)
		if err := src.checkOverrides(); err != nil {
			return nil, err
		}
	}
	s := &Set{
		text: make(map[string]*texttemplate.Template),
		html: make(map[string]*htmltemplate.Template),
	}
	for _, lang := range locale.Languages {
		for _, k := range Kinds {
			if err := s.parse(src, lang, k); err != nil {
				return nil, err
			}
			if _, err := s.Render(k, sampleData(lang)); err != nil {
				return nil, fmt.Errorf("templates: %s: %w", src.name(path.Join(lang, string(k)+".tmpl")), err)
			}
		}
	}
	return s, nil
}

// Render writes mail k in d.Lang (an unknown language gets English).
func (s *Set) Render(k Kind, d Data) (Mail, error) {
	lang := d.Lang
	if !locale.Supported(lang) {
		lang = "en"
	}
	key := lang + "/" + string(k)
	tt, ok := s.text[key]
	if !ok {
		return Mail{}, fmt.Errorf("templates: unknown kind %q", k)
	}
	v := newView(d, lang)
	var subj, text, html strings.Builder
	// Room for the body this mail is about and the frame around it, so the
	// buffers do not grow by doubling through a long mail.
	text.Grow(len(d.Text) + 4096)
	html.Grow(len(d.Text) + len(d.Text)/8 + len(d.HTML) + 8192)
	if err := tt.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Mail{}, fmt.Errorf("templates: %s subject: %w", key, err)
	}
	if err := tt.ExecuteTemplate(&text, "text", v); err != nil {
		return Mail{}, fmt.Errorf("templates: %s text: %w", key, err)
	}
	if err := s.html[key].ExecuteTemplate(&html, "layout", v); err != nil {
		return Mail{}, fmt.Errorf("templates: %s html: %w", key, err)
	}
	return Mail{
		Subject: oneLine(subj.String()),
		Text:    tidyText(text.String()),
		HTML:    html.String(),
	}, nil
}

// source reads template files, preferring the override directory.
type source struct {
	embedded fs.FS
	override fs.FS  // nil without overrides
	dir      string // the override directory, for messages
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// read returns a file's contents and the name to use for it in errors.
func (src source) read(name string) (string, string, error) {
	if src.override != nil {
		b, err := fs.ReadFile(src.override, name)
		if err == nil {
			return string(b), src.name(name), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("templates: %w", err)
		}
	}
	b, err := fs.ReadFile(src.embedded, name)
	if err != nil {
		return "", "", fmt.Errorf("templates: embedded %s: %w", name, err)
	}
	return string(b), "embedded " + name, nil
}

// name is how errors call a file: its override path when it is overridden.
func (src source) name(rel string) string {
	if src.override != nil {
		if _, err := fs.Stat(src.override, rel); err == nil {
			return path.Join(filepathToSlash(src.dir), rel)
		}
	}
	return "embedded " + rel
}

func filepathToSlash(p string) string { return strings.ReplaceAll(p, string(os.PathSeparator), "/") }

// checkOverrides rejects .tmpl files that would replace nothing, so a typo in
// a file name is reported instead of silently ignored.
func (src source) checkOverrides() error {
	return fs.WalkDir(src.override, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("templates: override directory: %w", err)
		}
		if d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return nil
		}
		if _, err := fs.Stat(src.embedded, p); err != nil {
			return fmt.Errorf("templates: %s: not a known template (expected e.g. es/ack.tmpl, es/common.tmpl or layout.tmpl)", path.Join(filepathToSlash(src.dir), p))
		}
		return nil
	})
}

// parse builds the text and HTML templates of one kind in one language from
// the layout, the language's common file and the kind's file.
func (s *Set) parse(src source, lang string, k Kind) error {
	files := []string{layoutFile, path.Join(lang, commonFile), path.Join(lang, string(k)+".tmpl")}
	funcs := funcMap(lang)
	tt := texttemplate.New("").Funcs(texttemplate.FuncMap(funcs))
	ht := htmltemplate.New("").Funcs(htmltemplate.FuncMap(funcs))
	for _, f := range files {
		body, name, err := src.read(f)
		if err != nil {
			return err
		}
		if _, err := tt.New(name).Parse(body); err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		if _, err := ht.New(name).Parse(body); err != nil {
			return fmt.Errorf("templates: %w", err)
		}
	}
	kindFile := src.name(files[2])
	for _, def := range []string{"subject", "text"} {
		if tt.Lookup(def) == nil {
			return fmt.Errorf("templates: %s: no {{define %q}}", kindFile, def)
		}
	}
	if ht.Lookup("html") == nil {
		return fmt.Errorf("templates: %s: no {{define \"html\"}}", kindFile)
	}
	if ht.Lookup("layout") == nil {
		return fmt.Errorf("templates: %s: no {{define \"layout\"}}", src.name(layoutFile))
	}
	key := lang + "/" + string(k)
	s.text[key], s.html[key] = tt, ht
	return nil
}

// newView is what templates see: d with its single-line fields made
// single lines, and the values worked out in the mail's language.
func newView(d Data, lang string) *Data {
	d.Lang = lang
	// Single-line fields may end up in a subject or a header-like line; a
	// line break in them must not start a new line anywhere.
	for _, f := range []*string{
		&d.MailboxName, &d.MailboxAddress, &d.Subject, &d.CustomerName, &d.CustomerAddress,
		&d.AgentName, &d.SolvedWord, &d.ReplyAddress, &d.NoteAddress, &d.BadLine,
		&d.Reason, &d.Recipient, &d.From, &d.TrackingURL, &d.SolvedMailto,
	} {
		*f = oneLine(*f)
	}
	if d.SolvedWord == "" {
		d.SolvedWord = SolvedWord(lang)
	}
	atts := make([]Attachment, len(d.Attachments))
	for i, a := range d.Attachments {
		atts[i] = Attachment{Name: oneLine(a.Name), Size: a.Size, URL: oneLine(a.URL)}
	}
	d.Attachments = atts
	items := make([]DigestItem, len(d.Items))
	for i, it := range d.Items {
		it.Subject, it.Customer, it.ReplyAddress = oneLine(it.Subject), oneLine(it.Customer), oneLine(it.ReplyAddress)
		it.StatusName = locale.StatusName(it.Status, lang)
		items[i] = it
	}
	d.Items = items
	prio := d.Priority
	if prio == "" {
		prio = "media"
	}
	d.AssigneeName = oneLine(d.AssigneeName)
	d.PriorityName = locale.PriorityName(prio, lang)
	d.StatusName = locale.StatusName(d.Status, lang)
	d.StatusMeaning = locale.StatusMeaning(d.Status, lang, d.CloseDate, d.Location)
	d.CloseDay, d.CloseOn = "", ""
	if !d.CloseDate.IsZero() {
		d.CloseDay = locale.FormatDate(d.CloseDate, lang, d.Location)
		d.CloseOn = locale.OnDate(d.CloseDate, lang, d.Location)
	}
	return &d
}

// funcMap holds the functions templates may call; size depends on the language.
func funcMap(lang string) map[string]any {
	return map[string]any{
		"size":    func(n int64) string { return formatSize(n, lang) },
		"age":     func(d time.Duration) string { return formatAge(d, lang) },
		"lines":   lines,
		"brLines": brLines,
	}
}

// brLines is user text as HTML: escaped as html/template escapes text,
// each line break a <br>. One call instead of a template loop per line,
// which cost most of a notification's rendering for a long mail; and one
// escape of the whole text, which leaves line breaks as they are, instead
// of one per line.
func brLines(s string) htmltemplate.HTML {
	s = strings.TrimRight(normalizeNewlines(s), "\n")
	return htmltemplate.HTML(strings.ReplaceAll(htmltemplate.HTMLEscaper(s), "\n", "<br>\n"))
}

// lines splits user text into lines for the HTML part, where each becomes a
// <br>-separated, escaped run of text.
func lines(s string) []string {
	s = strings.TrimRight(normalizeNewlines(s), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// formatSize writes a byte count the way lang does: "240 KB", "1,5 MB",
// French "1,5 Mo".
func formatSize(n int64, lang string) string {
	units := []string{"bytes", "KB", "MB", "GB"}
	switch lang {
	case "fr":
		units = []string{"octets", "Ko", "Mo", "Go"}
	case "it":
		units[0] = "byte"
	}
	num, u := locale.SizeParts(n, lang)
	return num + " " + units[u]
}

// ageUnits are the words for days and hours, singular and plural.
var ageUnits = map[string][4]string{
	"es": {"día", "días", "hora", "horas"},
	"en": {"day", "days", "hour", "hours"},
	"fr": {"jour", "jours", "heure", "heures"},
	"pt": {"dia", "dias", "hora", "horas"},
	"it": {"giorno", "giorni", "ora", "ore"},
}

// formatAge writes how long a ticket has waited: whole days from one day
// on, else whole hours (at least one).
func formatAge(d time.Duration, lang string) string {
	u, ok := ageUnits[lang]
	if !ok {
		u = ageUnits["en"]
	}
	n, one, many := int(d.Hours()), u[2], u[3]
	if d >= 24*time.Hour {
		n, one, many = int(d.Hours()/24), u[0], u[1]
	}
	if n <= 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// oneLine turns s into a single line: line breaks and other control
// characters become spaces, runs of spaces collapse, ends are trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// tidyText gives the text part LF line ends, no blank lines at the start and
// exactly one line end at the finish. Lines in between are left as they are.
func tidyText(s string) string {
	s = normalizeNewlines(s)
	s = strings.TrimLeft(s, "\n")
	t := strings.TrimRight(s, " \n")
	if len(t) < len(s) && s[len(t)] == '\n' {
		return s[:len(t)+1] // the same string, without copying a long body
	}
	return t + "\n"
}

// sampleData fills every field, so New can try each template once.
func sampleData(lang string) Data {
	return Data{
		Lang: lang, MailboxName: "Support", MailboxAddress: "support@example.com",
		Number: 1, Subject: "Subject", Status: locale.StatusPending,
		TrackingURL: "https://example.com/t/x", CustomerName: "Customer",
		CustomerAddress: "customer@example.com", AgentName: "Agent", Text: "Text\nmore",
		Flagged: true, Attachments: []Attachment{{Name: "a.pdf", Size: 2048}},
		CloseDate: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Location: time.UTC,
		SolvedWord: SolvedWord(lang), SolvedMailto: "mailto:support@example.com?subject=x",
		ReplyAddress: "support+x@example.com", NoteAddress: "support+note@example.com",
		BadLine: "#bad", Reason: "reason", Recipient: "customer@example.com",
		From: "someone@example.com", AssigneeName: "Agent", Assignee: "agent@example.com", Priority: "alta", Action: "took",
		Items: []DigestItem{{Number: 1, Subject: "Subject", Customer: "Customer <customer@example.com>", Status: locale.StatusNew, Age: 50 * time.Hour, ReplyAddress: "support+x-a-y@example.com"}},
	}
}
