package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Mail is a parsed mail with everything that can be worked out before the
// write transaction: the quote cut, the automatic-mail verdict, the agent
// commands, the proof carried by each recipient address, a token for the
// ticket it may open and the random parts of the Message-IDs it may cause.
type Mail struct {
	Env        Envelope
	Raw        []byte
	SHA256     string
	P          *message.Parsed
	Cut        threading.Cut
	Now        time.Time
	Cfg        *config.Config
	RefIDs     []string // Message-IDs it refers to, nearest first
	Auto       bool     // automatic mail (RFC 3834 and kin): never answered
	AutoReason string
	Commands   commandPlan // the agent commands its new text would carry
	Targets    []target    // one per mailbox it was sent to
	NewToken   string      // the token of the ticket it opens, if it opens one
	// AuthFailure says why the receiving server's Authentication-Results
	// do not vouch for the author, when [security] trusted_authserv_id
	// asks them to; "" when they do or nobody asked.
	AuthFailure string
	// Forward is the customer's mail inside, when an agent forwarded one.
	Forward *forwarded
}

// From is the author's address: the From header, else the envelope sender.
func (m *Mail) From() string {
	if m.P.From.Addr != "" {
		return m.P.From.Addr
	}
	return strings.ToLower(m.Env.From)
}

// target is one mailbox a mail was sent to, with the most specific address
// form seen and what that form proves.
type target struct {
	mailbox *config.Mailbox
	addr    threading.Addr
	// tagOK: the address is an agent (or note) form whose tag the author's
	// own address signs for addr.Token.
	tagOK bool
	// idParts are the random parts of the Message-IDs this mailbox's plan
	// may give its outgoing mails, drawn before the transaction.
	idParts []string
}

// prepare does every computation a mail needs that reads no database.
func prepare(cfg *config.Config, keys [][]byte, env Envelope, raw []byte, p *message.Parsed, targets []target, now time.Time) *Mail {
	sum := sha256.Sum256(raw)
	m := &Mail{
		Env:      env,
		Raw:      raw,
		SHA256:   hex.EncodeToString(sum[:]),
		P:        p,
		Cut:      threading.CutQuoteSubject(p.Text, p.Subject),
		Now:      now,
		Cfg:      cfg,
		RefIDs:   threading.ReferencedIDs(p.InReplyTo, p.References),
		NewToken: threading.NewToken(),
	}
	m.Auto, m.AutoReason = threading.IsAutomatic(env.From, p.Header, cfg.MailboxAddresses())
	if strings.Contains(m.Cut.New, "#") {
		m.Commands = parseCommands(m.Cut.New)
	}
	from := m.From()
	m.AuthFailure = agentAuthFailure(cfg, p, from)
	if cfg.Agent(from) != nil {
		m.Forward = findForward(p, m.Cut, func(a string) bool {
			_, mailbox := threading.ParseRecipient(a, cfg.MailboxAddresses())
			return mailbox || cfg.Agent(a) != nil
		})
	}
	for i := range targets {
		tg := &targets[i]
		// At most: one mail to the customer or the author, one per agent
		// (notifications), one per agent again (a colleague's line), and
		// one per #assign.
		n := 2*len(tg.mailbox.Agents) + 2 + m.Commands.count("assign")
		tg.idParts = make([]string, n)
		for j := range tg.idParts {
			tg.idParts[j] = threading.NewMessageIDPart()
		}
	}
	m.Targets = targets
	m.checkTags(keys)
	return m
}
