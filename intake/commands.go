package intake

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/lifecycle"
)

// Agent commands: lines starting with '#' at the top of a genuine agent
// reply's new text (never its quoted part). Spanish and English words are
// accepted alike; verbs are the canonical (English) names.
var commandVerbs = map[string]string{
	"cerrar": "close", "close": "close",
	"nota": "note", "note": "note",
	"asignar": "assign", "assign": "assign",
	"tomar": "take", "take": "take",
	"devolver": "release", "release": "release",
	"prioridad": "priority", "priority": "priority",
	"etiqueta": "tag", "tag": "tag",
	"-etiqueta": "untag", "untag": "untag", "-tag": "untag",
	"aceptar": "accept", "accept": "accept",
}

// priorities maps both languages' words to the stored (Spanish) key.
var priorities = map[string]string{
	"baja": "baja", "low": "baja",
	"media": "media", "normal": "media", "medium": "media",
	"alta": "alta", "high": "alta",
	"urgente": "urgente", "urgent": "urgente",
}

// agentCommand is one parsed command line.
type agentCommand struct {
	line string // as written, for the history and error mails
	verb string // close, note, assign, take, release, priority, tag, untag, accept
	args []string
}

// commandPlan is what an agent's mail asks for.
type commandPlan struct {
	cmds []agentCommand
	rest string // the text after the commands: the answer or the note
	note bool   // #nota: the whole mail is an internal note
	// bad is the first line that cannot be run, with why (a reason key).
	bad, reason, reasonArg string
}

// count tells how many commands have the verb.
func (p *commandPlan) count(verb string) int {
	n := 0
	for _, c := range p.cmds {
		if c.verb == verb {
			n++
		}
	}
	return n
}

func (p *commandPlan) has(verbs ...string) bool {
	for _, c := range p.cmds {
		for _, v := range verbs {
			if c.verb == v {
				return true
			}
		}
	}
	return false
}

// isCommandLine tells a command ("#cerrar", "#-etiqueta x") from ordinary
// text that happens to start with '#' ("#1234 is fixed").
func isCommandLine(line string) bool {
	rest, ok := strings.CutPrefix(line, "#")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "-")
	for _, r := range rest {
		return unicode.IsLetter(r)
	}
	return false
}

// parseCommands reads the command lines at the top of text (blank lines
// between them allowed) and returns them with the text that follows. The
// first line that is not a command ends the commands: a '#' further down
// is part of the answer.
func parseCommands(text string) commandPlan {
	var p commandPlan
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		if !isCommandLine(line) {
			break
		}
		f := strings.Fields(line)
		word := strings.ToLower(strings.TrimPrefix(f[0], "#"))
		c := agentCommand{line: line, verb: commandVerbs[word], args: f[1:]}
		if p.bad == "" {
			p.bad, p.reason, p.reasonArg = checkCommand(&c)
		}
		if c.verb == "note" {
			p.note = true
		}
		p.cmds = append(p.cmds, c)
	}
	p.rest = strings.TrimSpace(strings.Join(lines[i:], "\n"))
	return p
}

// checkCommand validates what can be checked without the ticket.
func checkCommand(c *agentCommand) (bad, reason, arg string) {
	switch c.verb {
	case "":
		return c.line, "unknown", ""
	case "close", "note", "take", "release":
		if len(c.args) > 0 {
			return c.line, "no_arg", ""
		}
	case "assign":
		if len(c.args) != 1 {
			return c.line, "need_agent", ""
		}
		c.args[0] = cleanAddress(c.args[0])
	case "accept":
		if len(c.args) > 1 {
			return c.line, "no_outsider", ""
		}
		if len(c.args) == 1 {
			c.args[0] = cleanAddress(c.args[0])
		}
	case "priority":
		if len(c.args) != 1 {
			return c.line, "bad_priority", ""
		}
		key, ok := priorities[strings.ToLower(strings.Trim(c.args[0], ".,;!"))]
		if !ok {
			return c.line, "bad_priority", ""
		}
		c.args[0] = key
	case "tag", "untag":
		var tags []string
		for _, a := range c.args {
			tags = append(tags, strings.FieldsFunc(strings.ToLower(a), func(r rune) bool { return r == ',' || r == ';' })...)
		}
		if len(tags) == 0 {
			return c.line, "need_tag", ""
		}
		c.args = tags
	}
	return "", "", ""
}

// cleanAddress takes an address as agents write it after a command.
func cleanAddress(s string) string {
	return strings.ToLower(strings.Trim(strings.TrimPrefix(s, "mailto:"), "<>,;"))
}

// commandReasons explain a failed command to the agent, in the mailbox's
// language. %s is the argument at fault, where there is one.
var commandReasons = map[string]map[string]string{
	"es": {
		"unknown":      "no es un comando conocido.",
		"no_arg":       "este comando no lleva nada detrás.",
		"need_agent":   "indique la dirección de un agente, por ejemplo «#asignar ana@example.com».",
		"not_agent":    "%s no es agente de este buzón.",
		"bad_priority": "prioridad desconocida; use baja, media, alta o urgente (low, normal, high, urgent).",
		"need_tag":     "falta la etiqueta, por ejemplo «#etiqueta facturacion».",
		"no_outsider":  "no hay ningún mensaje de fuera de la solicitud que aceptar con esa dirección; use «#aceptar» o «#aceptar dirección».",
	},
	"en": {
		"unknown":      "this is not a known command.",
		"no_arg":       "this command takes nothing after it.",
		"need_agent":   "give one agent's address, for example \"#assign ana@example.com\".",
		"not_agent":    "%s is not an agent of this mailbox.",
		"bad_priority": "unknown priority; use low, normal, high or urgent (baja, media, alta, urgente).",
		"need_tag":     "the tag is missing, for example \"#tag billing\".",
		"no_outsider":  "there is no message from outside the ticket to accept from that address; use \"#accept\" or \"#accept address\".",
	},
	"fr": {
		"unknown":      "cette commande n'existe pas.",
		"no_arg":       "cette commande ne prend rien après elle.",
		"need_agent":   "indiquez l'adresse d'un agent, par exemple « #assign ana@example.com ».",
		"not_agent":    "%s n'est pas agent de cette boîte.",
		"bad_priority": "priorité inconnue ; utilisez low, normal, high ou urgent (baja, media, alta, urgente).",
		"need_tag":     "il manque l'étiquette, par exemple « #tag facturation ».",
		"no_outsider":  "aucun message venu de l'extérieur de la demande à accepter pour cette adresse ; utilisez « #accept » ou « #accept adresse ».",
	},
	"pt": {
		"unknown":      "este comando não existe.",
		"no_arg":       "este comando não leva nada a seguir.",
		"need_agent":   "indique o endereço de um agente, por exemplo «#assign ana@example.com».",
		"not_agent":    "%s não é agente desta caixa de correio.",
		"bad_priority": "prioridade desconhecida; use low, normal, high ou urgent (baja, media, alta, urgente).",
		"need_tag":     "falta a etiqueta, por exemplo «#tag faturacao».",
		"no_outsider":  "não há nenhuma mensagem de fora da solicitação para aceitar desse endereço; use «#accept» ou «#accept endereço».",
	},
	"it": {
		"unknown":      "questo comando non esiste.",
		"no_arg":       "questo comando non vuole niente dopo.",
		"need_agent":   "indica l'indirizzo di un agente, per esempio «#assign ana@example.com».",
		"not_agent":    "%s non è un agente di questa casella.",
		"bad_priority": "priorità sconosciuta; usa low, normal, high o urgent (baja, media, alta, urgente).",
		"need_tag":     "manca l'etichetta, per esempio «#tag fatturazione».",
		"no_outsider":  "non c'è nessun messaggio dall'esterno della richiesta da accettare da quell'indirizzo; usa «#accept» o «#accept indirizzo».",
	},
}

func commandReason(lang, key, arg string) string {
	m, ok := commandReasons[lang]
	if !ok {
		m = commandReasons["en"]
	}
	if strings.Contains(m[key], "%s") {
		return fmt.Sprintf(m[key], arg)
	}
	return m[key]
}

// checkCommands checks what needs the mailbox (assignees). Commands come
// only from the new text: quoted text and signatures were cut before.
func (p *planner) checkCommands(cp commandPlan) commandPlan {
	if cp.bad != "" {
		return cp
	}
	for _, c := range cp.cmds {
		if c.verb == "assign" && !containsFold(p.mb.Agents, c.args[0]) {
			cp.bad, cp.reason, cp.reasonArg = c.line, "not_agent", c.args[0]
			return cp
		}
		if c.verb == "accept" && p.outsiderToAccept(c) == "" {
			cp.bad, cp.reason = c.line, "no_outsider"
			return cp
		}
	}
	return cp
}

// commandError keeps the mail for the record, changes nothing on the ticket,
// relays nothing, and tells the agent which line failed and why.
func (p *planner) commandError(cp commandPlan) {
	agent := p.m.From()
	reason := commandReason(p.lang(), cp.reason, cp.reasonArg)
	p.out.Save = false
	p.message(ticketd.AuthorAgent, true, false)
	p.event(ticketd.EventMessageIn, agent, fmt.Sprintf("not relayed: command %q failed: %s", cp.bad, reason))
	params := p.thread.Reply(p.m.P.MessageID)
	params.BadLine, params.Reason, params.Actor = cp.bad, reason, agent
	p.send(ticketd.KindCommandError, agent, 0, params)
}

// runCommands applies checked commands in order, recording each in the
// history.
func (p *planner) runCommands(cp commandPlan) {
	agent := p.m.From()
	for _, c := range cp.cmds {
		switch c.verb {
		case "close":
			p.events(lifecycle.CloseBy(p.tk, agent, c.line, p.m.Now))
		case "assign", "take":
			to := agent
			if c.verb == "assign" {
				to = c.args[0]
			}
			before := p.tk.Assignee
			p.assign(to, agent)
			if strings.EqualFold(to, agent) && !strings.EqualFold(before, agent) {
				p.tellColleagues(before, "took")
			}
		case "release":
			p.events(lifecycle.Release(p.tk, agent, p.m.Now))
		case "priority":
			prev := p.tk.Priority
			if prev == "" {
				prev = ticketd.DefaultPriority
			}
			p.tk.Priority = ticketd.Priority(c.args[0])
			p.event(ticketd.EventPriority, agent, string(prev)+" -> "+c.args[0])
		case "accept":
			addr := p.outsiderToAccept(c)
			p.out.Accept = append(p.out.Accept, addr)
			p.event(ticketd.EventAccepted, agent, addr)
		case "tag", "untag":
			typ := ticketd.EventTag
			if c.verb == "untag" {
				typ = ticketd.EventUntag
			}
			for _, tag := range c.args {
				p.out.Tags = append(p.out.Tags, TagChange{Tag: tag, Remove: c.verb == "untag"})
				p.event(typ, agent, tag)
			}
		}
	}
	p.tk.UpdatedAt = p.m.Now
}

// assign makes to the assignee and, when someone else did it, tells them
// with the customer's latest message.
func (p *planner) assign(to, by string) {
	evs := lifecycle.Assign(p.tk, to, by, p.m.Now)
	if len(evs) == 0 {
		return
	}
	p.events(evs)
	if strings.EqualFold(to, by) {
		return
	}
	params := p.thread.Reply("")
	params.Actor = by
	p.send(ticketd.KindAssigned, to, p.f.LastCustomerMessage, params)
}

// outsiderToAccept is the sender an #accept means: the one it names, else
// the latest who wrote from outside the ticket; "" when there is none.
func (p *planner) outsiderToAccept(c agentCommand) string {
	out := p.f.Addresses.Outsiders
	if len(c.args) == 0 {
		if len(out) == 0 {
			return ""
		}
		return out[len(out)-1]
	}
	for _, o := range out {
		if strings.EqualFold(o, c.args[0]) {
			return o
		}
	}
	return ""
}

// stripCommandLines removes the lines that read as agent commands ("#cerrar",
// "#tag x"), wherever they are in text; other lines starting with '#'
// ("#1234 is fixed") stay.
func stripCommandLines(text string) string {
	lines := strings.Split(text, "\n")
	out := lines[:0]
	for _, l := range lines {
		t := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), ">"))
		if isCommandLine(t) {
			if _, known := commandVerbs[strings.ToLower(strings.TrimPrefix(strings.Fields(t)[0], "#"))]; known {
				continue
			}
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// events records entries a lifecycle rule returned.
func (p *planner) events(evs []ticketd.Event) {
	for i := range evs {
		p.out.Events = append(p.out.Events, &evs[i])
	}
}
