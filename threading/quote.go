package threading

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Cut is the result of CutQuote.
type Cut struct {
	New     string // the new text, trimmed
	Removed string // what was cut (quote, attribution line, signature)
	Flagged bool   // the cut is not trustworthy: agents must get the full text
}

// Line classes. The cut is decided on the sequence of classes, so each
// line goes through the patterns once and the decision stays linear.
const (
	clsEmpty  = 'e'
	clsText   = 't'
	clsQuote  = 'q' // "> ..."
	clsSigSep = 'd' // "-- " and friends: a signature follows
	clsRule   = 'u' // a line of ----- or _____: decoration before history
	clsMobile = 's' // "Sent from my iPhone"
	clsMarker = 'b' // attribution or original/forwarded-message marker
	clsHeader = 'h' // "From: ...", "Sent: ..." of an embedded header block
)

// maxPatternLine bounds the length of a line we run the marker patterns
// on: real attribution and header lines are short, and skipping huge lines
// keeps the pathological cases linear and cheap.
const maxPatternLine = 400

var (
	// "> " and Supercite's "JD> ".
	// isQuoteLine does this by hand; the pattern stays as its specification
	// (TestPrefiltersAreSound).
	reQuote  = regexp.MustCompile(`^[ \t]*([A-Za-z]{1,3})?>`)
	reSigSep = regexp.MustCompile(`^(--|-- |—|–)[ \t]*$`)
	// Decorative rules; underscores are what Outlook and mailing lists put
	// before history and footers.
	reRule       = regexp.MustCompile(`^[ \t]*(([-_=*~+#—ᐧ]){3,}|ᐧ)[ \t]*$`)
	reUnderscore = regexp.MustCompile(`^[ \t]*_{5,}[ \t]*$`)
	reMDLink     = regexp.MustCompile(`\[([^\]]{0,200})\]\([^)]{0,400}\)`)

	// Mobile and webmail signatures, in many languages.
	reMobile = regexp.MustCompile(`(?i)^[ \t]*[(<]*[ \t]*(` +
		`sent (from|via|with|using|by|on) |\w+ from (my )?mobile|get outlook for |` +
		`from my (iphone|ipad|ipod|android|mobile|phone|cell|smartphone|samsung|galaxy|blackberry|htc|huawei|pixel|nokia|xperia|tablet|device)|` +
		`envoyé (depuis|de|avec) |envoye depuis |enviado (desde|de|do|com|a partir d[eo]) |` +
		`inviato da(l)? |von meinem .+ gesendet|gesendet von |diese nachricht wurde von .+ gesendet|` +
		`verzonden (met|vanaf|van) |verstuurd (met|vanaf|van) |sendt fra |skickat från |från min |` +
		`wysłane z |отправлено с |從我的 .+ 傳送|发自我的|来自我的)`)
	// What may follow a device name in a signature: an apology for typos
	// or a link. Anything else ("Sent from my desk, is much easier ...")
	// is a sentence written by a person.
	reMobileTail = regexp.MustCompile(`(?i)^[\s.,;:!)>-]*((please|pls|excuse|sorry|pardon|disculp|perdon|desculp|scus|entschuld|typo|brevity|<|\(|https?:|www\.).*)?$`)

	// Attributions: "On <date>, <someone> wrote:" and its translations,
	// with the verb at the end of the line.
	reAttrOpener = regexp.MustCompile(`(?i)^(on|at|el|le|em|il|am|op|den|dnia|dňa|w dniu|in message|` +
		`il giorno|às|a las|в|на|在)[\s,]`)
	// German/Nordic/Dutch order: "Am <date> schrieb <someone>:".
	reAttrMid  = regexp.MustCompile(`(?i)\s(schrieb|schreef|skrev|napisał\(a\)|napisał|wrote|escribió|escreveu|написал)\s.*[:：]\s*$`)
	reISODate  = regexp.MustCompile(`^20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [\pL\pN_ ]+$`)
	rePostedBy = regexp.MustCompile(`(?i)^posted by .+ on \d{1,2}/\d{1,2}/\d{4}$`)
	reForward  = regexp.MustCompile(`(?i)^[ \t>*]*(` +
		`-{2,}[ \t]*(original message|forwarded message|reply message|mensaje original|mensaje reenviado|` +
		`message d'origine|message original|message transféré|mensagem original|mensagem encaminhada|` +
		`messaggio originale|messaggio inoltrato|ursprüngliche nachricht|weitergeleitete nachricht|` +
		`oorspronkelijk bericht|doorgestuurd bericht|originalmeddelande|vidarebefordrat meddelande|` +
		`oryginalna wiadomość|wiadomość przekazana|исходное сообщение|пересылаемое сообщение|原始邮件|转发邮件)` +
		`[ \t]*-{2,}|begin forwarded message:|début du message (transféré|réexpédié) ?:|` +
		`inicio del mensaje reenviado:|início da mensagem (reencaminhada|encaminhada):|` +
		`inizio messaggio inoltrato:|anfang der weitergeleiteten nachricht:|` +
		`begin doorgestuurd bericht:)`)
	// Forwards only: what follows is not our conversation's history but
	// content the sender wants us to read.
	reForwarded = regexp.MustCompile(`(?i)^[ \t>*]*(-{2,}[ \t]*(forwarded message|mensaje reenviado|message transféré|` +
		`mensagem encaminhada|messaggio inoltrato|weitergeleitete nachricht|doorgestuurd bericht|` +
		`vidarebefordrat meddelande|wiadomość przekazana|пересылаемое сообщение|转发邮件)|begin forwarded message|` +
		`début du message (transféré|réexpédié)|inicio del mensaje reenviado|início da mensagem (reencaminhada|encaminhada)|` +
		`inizio messaggio inoltrato|anfang der weitergeleiteten nachricht|begin doorgestuurd bericht)`)
	// Outlook Web's one-line header: "From: x Sent: y To: z Subject: w".
	reOneLineHeader = regexp.MustCompile(`(?i)^[ \t*]*(from|de|von|da|van)[ \t*]*:.+\b(sent|date|envoyé|gesendet|enviado|data|datum|fecha)[ \t*]*:.+\b(subject|objet|betreff|asunto|assunto|oggetto|onderwerp|to|à|an|para|a)[ \t*]*:`)

	reHeader = regexp.MustCompile(`(?i)^[ \t*>]*(from|de|von|da|van|fra|från|od|от|kimden|expéditeur|发件人|寄件者|` +
		`sent|date|datum|data|fecha|envoyé|envoye|gesendet|enviado|enviada|enviada em|skickat|sendt|wysłano|` +
		`отправлено|发送时间|日期|` +
		`to|para|à|a|an|aan|til|till|do|кому|destinataire|收件人|` +
		`cc|bcc|kopie|cópia|copia|抄送|` +
		`subject|asunto|objet|assunto|oggetto|betreff|onderwerp|emne|ämne|temat|тема|主题|主旨|` +
		`reply-to|risposta|répondre à|beantwoorden - aan)[ \t*]*[:：][ \t*]*\S`)
	reHeaderFrom = regexp.MustCompile(`(?i)^[ \t*>]*(from|de|von|da|van|fra|från|od|от|kimden|expéditeur|发件人|寄件者)[ \t*]*[:：]`)
	reHeaderDate = regexp.MustCompile(`(?i)^[ \t*>]*(sent|date|datum|data|fecha|envoyé|envoye|gesendet|enviado|enviada|enviada em|skickat|sendt|wysłano|отправлено|发送时间|日期)[ \t*]*[:：].*\d`)

	// "-Abhishek": a dash-signed name ending a message.
	reDashName = regexp.MustCompile(`^-[\pLu][\pL]+( [\pLu][\pL.]*){0,3}[ \t]*$`)
)

func isMobileSig(line string, f byteFlags) bool {
	if len(line) > 160 || !mayBeMobileSig(line, f) {
		return false
	}
	s := reMDLink.ReplaceAllString(line, "$1")
	loc := reMobile.FindStringIndex(s)
	if loc == nil {
		return false
	}
	rest := s[loc[1]:]
	// The device part: up to 6 words, then only an apology or a link.
	words := 0
	i := 0
	for i < len(rest) {
		r, size := utf8.DecodeRuneInString(rest[i:])
		if r == ',' || r == '.' || r == ';' || r == '!' || r == '<' || r == '(' || r == ')' || r == '>' {
			break
		}
		if unicode.IsSpace(r) && i > 0 && !unicode.IsSpace(rune(rest[i-1])) {
			words++
		}
		i += size
	}
	if words > 6 {
		return false
	}
	// A link glued to the device name ("Get Outlook for iOShttps://...").
	return reMobileTail.MatchString(rest[i:]) || strings.Contains(rest, "http") || strings.Contains(rest, "www.")
}

// attrVerbs end an attribution ("On <date>, <someone> wrote:") in the
// languages we know. Matched by hand on the lowercased line end: a
// case-folding regexp over every line was the bulk of CutQuote's time.
var attrVerbs = []string{"wrote", "writes", "escribió", "escribio", "escreveu", "a écrit", "a ecrit", "nous a dit",
	"ha scritto", "hat geschrieben", "geschrieben", "schrieb", "schreef", "het volgende geschreven", "skrev",
	"napisał(a)", "napisała", "napisał", "написал(а)", "написала", "написал", "пише", "写道", "寫道"}

// attrVerbLastBytes are the ASCII bytes that end a verb of attrVerbs;
// TestAttrVerbLastBytes keeps it in step.
const attrVerbLastBytes = "abefnostuv)"

// attrVerb returns the attribution verb ending s (before ":" and
// decoration), and what precedes it; verb is "" when there is none.
func attrVerb(s string) (before, verb string) {
	const blank = " \t\u00a0\u202f"
	t := strings.TrimRight(s, blank+".>-")
	t = strings.TrimSuffix(strings.TrimSuffix(t, ":"), "：")
	t = strings.TrimRight(t, blank)
	if t == "" || t[len(t)-1] < utf8.RuneSelf && !strings.ContainsRune(attrVerbLastBytes, rune(lowerASCII(t[len(t)-1]))) {
		return "", "" // lowercasing keeps an ASCII last byte ASCII: no verb ends so
	}
	if len(t) > 64 {
		// Verbs are short; lowercase only the end of a long line. Cut at
		// a rune boundary.
		i := len(t) - 64
		for i < len(t) && !utf8.RuneStart(t[i]) {
			i++
		}
		before, t = t[:i], t[i:]
	}
	low := strings.ToLower(t)
	if len(low) != len(t) {
		return "", "" // case mapping changed byte lengths: no verb of ours does that
	}
	for _, v := range attrVerbs {
		if strings.HasSuffix(low, v) {
			n := len(t) - len(v)
			return before + t[:n], low[n:]
		}
	}
	return "", ""
}

// isDateAddr matches "<date> <someone> <addr>" as Gmail writes it in many
// locales: a 4-digit year at most 120 bytes before a final <addr>. Done by
// hand because a counted repetition is costly in a regexp.
func isDateAddr(s string) bool {
	if !strings.HasSuffix(s, ">") {
		return false
	}
	lt := strings.LastIndexByte(s, '<')
	if lt < 0 {
		return false
	}
	// HTML-to-text converters may leave spaces inside the brackets
	// ("&lt; a@b &gt;", as in Yandex's replies).
	addr := strings.TrimSpace(s[lt+1 : len(s)-1])
	at := strings.IndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t<>") || strings.Count(addr, "@") != 1 {
		return false
	}
	run := 0
	for i := 0; i < lt; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			if run >= 4 && lt-i-1 >= 1 && lt-i-1 <= 120 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// isAttribution matches one (possibly joined) attribution line. Cheap
// byte tests run before each pattern so ordinary lines cost little.
func isAttribution(s string) bool {
	return attribution(s, flagsOf(s))
}

// attribution is isAttribution with f = flagsOf(s) already known. The
// trimming below removes none of the bytes that f's digit, '@', '&' and
// 'y' bits stand for, so f stays right for the trimmed line.
func attribution(s string, f byteFlags) bool {
	s = strings.TrimSpace(trimLeftQuote(s))
	if s == "" || len(s) > maxPatternLine {
		return false
	}
	hasDigit, hasAt := digitAt(s, f)
	if !hasDigit && !hasAt && (f&flagY == 0 || !containsYou(s)) {
		return false
	}
	if _, verb := attrVerb(s); verb != "" {
		opener := isAttrOpener(s)
		switch {
		case opener:
			return true
		case hasAt:
			return true
		case hasDigit && verb != "wrote" && verb != "writes":
			return true
		}
		return false
	}
	end := strings.TrimRight(s, " \t:：")
	switch {
	case end == "":
		return false
	case hasDigit && hasAt && end != s && reAttrMid.MatchString(s):
		return true
	case hasDigit && end[len(end)-1] == '>' && isDateAddr(end):
		return true
	case strings.HasPrefix(s, "20") && reISODate.MatchString(s):
		return true
	case hasDigit && len(s) > 10 && strings.EqualFold(s[:10], "posted by ") && rePostedBy.MatchString(s):
		return true
	}
	return false
}

// isAddresslessAttribution matches the German order without an address:
// an opener, a date, the verb, a name and a colon.
func isAddresslessAttribution(l string) bool {
	s := strings.TrimSpace(l)
	if len(s) > 200 || !endsWithColon(s) || !isAttrOpener(s) {
		return false
	}
	hasDigit, _ := digitAt(s, flagsOf(s))
	return hasDigit && reAttrMid.MatchString(s)
}

func isMarker(line string, f byteFlags) bool {
	if len(line) > maxPatternLine {
		return false
	}
	return mayBeForward(line, f) && reForward.MatchString(line) ||
		mayBeOneLineHeader(line, f) && reOneLineHeader.MatchString(line) ||
		attribution(line, f)
}

// classifyUnquoted classifies a line that is neither blank, quoted, a
// signature separator nor a rule.
func classifyUnquoted(l string) byte {
	if len(l) > maxPatternLine {
		return clsText // too long for any marker pattern
	}
	f := flagsOf(l)
	switch {
	case isMobileSig(l, f):
		return clsMobile
	case isMarker(l, f):
		return clsMarker
	case mayBeHeader(l, f) && reHeader.MatchString(l):
		return clsHeader
	}
	return clsText
}

// classify assigns a class to every line. Attributions wrapped over a few
// lines (clients wrap at ~78 columns, sometimes right before "wrote:") are
// recognised by joining a line with the next ones.
func classify(lines []string) []byte {
	cls := make([]byte, len(lines))
	for i, l := range lines {
		switch {
		case strings.TrimSpace(l) == "":
			cls[i] = clsEmpty
		case isQuoteLine(l): // reQuote
			cls[i] = clsQuote
			// A quoted attribution ("> On ... wrote:") is a marker too:
			// a mail of nothing but those has no new text.
			if len(l) <= maxPatternLine && isAttribution(l) {
				cls[i] = clsMarker
			}
		case mayBeSigSep(l) && reSigSep.MatchString(l):
			cls[i] = clsSigSep
		case len(l) <= maxPatternLine && mayBeRule(l) && reRule.MatchString(l):
			cls[i] = clsRule
		default:
			cls[i] = classifyUnquoted(l)
		}
	}
	// "John Doe wrote:" (older Thunderbird, many webmails) names no date
	// and no address; the quote right below it is what confirms it.
	for i := 0; i < len(lines); i++ {
		if cls[i] != clsText || len(lines[i]) > 200 || !endsWithColon(lines[i]) {
			continue
		}
		if _, verb := attrVerb(lines[i]); verb == "" {
			continue
		}
		j := i + 1
		for j < len(lines) && j <= i+2 && cls[j] == clsEmpty {
			j++
		}
		if j < len(lines) && cls[j] == clsQuote {
			cls[i] = clsMarker
		}
	}
	// "Am 25.11.26 um 10:12 schrieb Ana Pérez:" (Thunderbird, Apple Mail)
	// names no address; a sentence can read the same ("Am Montag schrieb
	// ich Ihnen 2 Mails:"), so only the quote below it, or nothing at all
	// below it (its quote went to an attachment), confirms it.
	for i := 0; i < len(lines); i++ {
		if cls[i] != clsText || !isAddresslessAttribution(lines[i]) {
			continue
		}
		j := i + 1
		for j < len(lines) && cls[j] == clsEmpty {
			j++
		}
		if j == len(lines) || j <= i+3 && cls[j] == clsQuote {
			cls[i] = clsMarker
		}
	}
	// Wrapped attributions: start at an unquoted line that could open one
	// (an opener word, an address, a leading date, a dangling "<") and
	// join up to 5 following short lines.
	for i := 0; i < len(lines); i++ {
		if cls[i] != clsText && cls[i] != clsHeader {
			continue
		}
		first := strings.TrimSpace(lines[i])
		if len(first) > 200 || !(isAttrOpener(first) || strings.Contains(first, "@") ||
			first[0] >= '0' && first[0] <= '9' || strings.HasSuffix(first, "<")) {
			continue
		}
		joined := first
		for j := i + 1; j < len(lines) && j <= i+5; j++ {
			next := strings.TrimSpace(strings.TrimLeft(lines[j], " \t>"))
			if len(joined)+len(next) > 300 || isAttrOpener(next) {
				break // the attribution, if any, starts further down
			}
			if next == "" {
				continue
			}
			if strings.HasSuffix(joined, "<") || strings.HasPrefix(next, ">") {
				joined += next // "<\naddr>" was one token before wrapping
			} else {
				joined += " " + next
			}
			if isAttribution(joined) {
				// A verb left alone on a following line ("> wrote:")
				// belongs to it too.
				for k := j + 1; k < len(lines) && k <= j+2; k++ {
					rest := strings.TrimSpace(strings.TrimLeft(lines[k], " \t>"))
					if rest == "" {
						continue
					}
					if before, verb := attrVerb(rest); verb != "" && strings.TrimSpace(before) == "" {
						j = k
					}
					break
				}
				for k := i; k <= j; k++ {
					cls[k] = clsMarker
				}
				i = j
				break
			}
		}
	}
	return cls
}

// CutQuote separates the new text of a reply from quoted history and
// signatures. It never loses text: New and Removed together hold every
// line, and Flagged says when the cut should not be trusted. A forwarded
// mail is content, not history: it stays in New below the sender's comment.
func CutQuote(text string) Cut { return cutQuote(text, false) }

// cutQuote is CutQuote; forwarded says the subject marks the mail as a
// forward, so history found below the comment is the forwarded mail.
func cutQuote(text string, forwarded bool) Cut {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	cls := classify(lines)
	f := newFacts(cls)
	cut, markerCut := findCut(lines, cls, f)
	// A rule right above a marker belongs to the history.
	for markerCut && cut > 0 && (cls[cut-1] == clsEmpty || cls[cut-1] == clsRule) {
		cut--
	}
	start := bottomPostStart(cls, f, cut)

	// Trailing quotes, rules, mobile signatures and a dash-signed name go
	// too, as long as some text remains: a mail that is nothing but a
	// quote (a forward with ">") keeps it.
	end := trimTail(lines, cls, start, cut, true)
	if !hasClass(cls[start:end], clsText) {
		end = trimTail(lines, cls, start, cut, false)
	}
	if fw, ok := forwardStart(lines, cls, end); ok {
		return keepForward(lines, fw)
	}
	if forwarded {
		if markerCut && hasClass(cls[start:end], clsText) {
			return keepForward(lines, cut) // the comment, then the forwarded mail
		}
		if first := firstNonEmpty(cls, 0, len(lines)); first < len(lines) && (cls[first] == clsHeader || cls[first] == clsMarker) {
			return keepForward(lines, first) // no comment: all of it
		}
	}
	kept, removed, contentSeen := splitKept(lines, cls, start, end)
	res := Cut{
		New:     strings.TrimSpace(strings.Join(kept, "\n")),
		Removed: strings.TrimSpace(strings.Join(removed, "\n")),
	}
	res.Flagged = res.New == "" || !contentSeen || suspicious(lines, cls, f.nextQuote, end, res.New)
	return res
}

// facts are suffix facts over the line classes, so that deciding a cut at
// each line stays linear.
type facts struct {
	nextSig   []int // first signature separator at or after i
	nextQuote []int // first quote line at or after i
	lastText  []int // last text line in [i, nextSig[i]), -1 if none
}

func newFacts(cls []byte) facts {
	n := len(cls)
	f := facts{nextSig: make([]int, n+1), nextQuote: make([]int, n+1), lastText: make([]int, n+1)}
	f.nextSig[n], f.nextQuote[n], f.lastText[n] = n, n, -1
	for i := n - 1; i >= 0; i-- {
		f.nextSig[i], f.nextQuote[i], f.lastText[i] = f.nextSig[i+1], f.nextQuote[i+1], f.lastText[i+1]
		switch cls[i] {
		case clsSigSep:
			f.nextSig[i] = i
			f.lastText[i] = -1
		case clsQuote:
			f.nextQuote[i] = i
		case clsText:
			if f.lastText[i] < 0 {
				f.lastText[i] = i
			}
		}
	}
	return f
}

// answersAfter says some text follows a quote after line i (before any
// signature): an interleaved reply, whose answers must stay.
func (f facts) answersAfter(i int) bool {
	q := f.nextQuote[i]
	return q < f.nextSig[i] && f.lastText[i] > q
}

// findCut returns the first line of history or signature, and whether the
// cut is at a recognised history marker.
func findCut(lines []string, cls []byte, f facts) (cut int, markerCut bool) {
	n := len(lines)
	textBefore := false
	for i := 0; i < n; i++ {
		if !textBefore && (cls[i] == clsMarker || cls[i] == clsHeader) {
			// Nothing written above it: a forward without comment or a
			// bottom post. The history is the content; keep it.
			continue
		}
		switch cls[i] {
		case clsText:
			textBefore = true
		case clsSigSep:
			return i, false
		case clsMarker:
			if !f.answersAfter(i) {
				return i, true
			}
		case clsHeader:
			if headerBlock(lines, cls, i) && !f.answersAfter(i) {
				return i, true
			}
		case clsRule:
			if reUnderscore.MatchString(lines[i]) && !f.answersAfter(i) {
				// Outlook's separator or a mailing-list footer.
				j := i + 1
				for j < n && cls[j] == clsEmpty {
					j++
				}
				return i, j < n && (cls[j] == clsMarker || cls[j] == clsHeader && headerBlock(lines, cls, j))
			}
		}
	}
	return n, false
}

// bottomPostStart returns where the new text starts: after an attribution
// and its quote at the top when the answer is below them and no quote
// follows it (bottom posting); 0 otherwise.
func bottomPostStart(cls []byte, f facts, cut int) int {
	first := firstNonEmpty(cls, 0, cut)
	if first >= cut || cls[first] != clsMarker {
		return 0
	}
	j := first
	for j < cut && (cls[j] == clsMarker || cls[j] == clsQuote || cls[j] == clsEmpty) {
		j++
	}
	if j < cut && f.nextQuote[j] >= cut && j > first {
		return j
	}
	return 0
}

// splitKept sorts lines[start:end] into the new text and what goes:
// marker lines left inside the new text (interleaved replies) are noise,
// and so is a header block with nothing written above it. contentSeen says
// New holds more than a quote.
func splitKept(lines []string, cls []byte, start, end int) (kept, removed []string, contentSeen bool) {
	removed = append(removed, lines[:start]...)
	textSeen := false // a text line: later header blocks are history
	for i := start; i < end; i++ {
		switch {
		case cls[i] == clsMarker:
			removed = append(removed, lines[i])
		case !textSeen && cls[i] == clsHeader && headerBlock(lines, cls, i):
			e := headerBlockEnd(lines, cls, i, end)
			removed = append(removed, lines[i:e]...)
			i = e - 1
		default:
			if cls[i] == clsText {
				textSeen = true
			}
			if cls[i] != clsEmpty && cls[i] != clsQuote {
				contentSeen = true
			}
			// Trailing blanks carry nothing once format=flowed is decoded.
			kept = append(kept, trimRightBlank(lines[i]))
		}
	}
	removed = append(removed, lines[end:]...)
	return kept, removed, contentSeen
}

// forwardStart finds a forwarded mail where the history would be cut: a
// forward marker ("---------- Forwarded message ---------", Apple Mail's
// "> Begin forwarded message:") as the first thing at the cut (a signature
// may come between), or at the top of a forward without comment. Any other
// history first means the forward, if any, is quoted history.
func forwardStart(lines []string, cls []byte, cut int) (int, bool) {
	from := cut
	if first := firstNonEmpty(cls, 0, len(lines)); first < len(lines) && (cls[first] == clsMarker || cls[first] == clsQuote) {
		from = first // nothing written above it
	}
	seen := 0
	for i := from; i < len(lines) && seen < 6; i++ {
		if cls[i] == clsEmpty {
			continue
		}
		seen++
		if len(lines[i]) <= maxPatternLine && reForwarded.MatchString(lines[i]) {
			return i, true
		}
		if cls[i] == clsMarker || cls[i] == clsQuote || cls[i] == clsHeader {
			return 0, false
		}
	}
	return 0, false
}

// keepForward cuts the comment above a forwarded mail as any reply, and
// keeps the forwarded mail whole below it.
func keepForward(lines []string, fw int) Cut {
	comment := Cut{}
	if fw > 0 {
		comment = CutQuote(strings.Join(lines[:fw], "\n"))
	}
	forwarded := make([]string, 0, len(lines)-fw)
	for _, l := range lines[fw:] {
		forwarded = append(forwarded, trimRightBlank(l))
	}
	body := strings.TrimSpace(strings.Join(forwarded, "\n"))
	res := Cut{New: body, Removed: comment.Removed}
	if strings.TrimSpace(comment.New) != "" {
		res.New = comment.New + "\n\n" + body
	}
	res.Flagged = comment.Flagged && comment.New != ""
	return res
}

// forwardCut says the removed part starts with a forwarded message: its
// content is what the sender wants us to read, so agents need it.
func forwardCut(lines []string, end int) bool {
	seen := 0
	for i := end; i < len(lines) && seen < 3; i++ {
		l := lines[i]
		if strings.TrimSpace(strings.Trim(l, " \t>")) == "" {
			continue
		}
		seen++
		if len(l) <= maxPatternLine && reForwarded.MatchString(l) {
			return true
		}
	}
	return false
}

// trimTail returns the end of the new text: trailing blank lines, rules,
// mobile signatures, a dash-signed name and (if quotes) quoted lines go.
// Without quotes, only quote lines with no content ("> >") go.
func trimTail(lines []string, cls []byte, start, end int, quotes bool) int {
	for end > start {
		c := cls[end-1]
		l := lines[end-1]
		switch {
		case c == clsEmpty || c == clsRule || c == clsMobile || c == clsSigSep || c == clsMarker:
		case c == clsQuote && (quotes || strings.Trim(l, " \t>") == ""):
		case c == clsText && reDashName.MatchString(strings.TrimSpace(l)) && end-1 > start && cls[end-2] == clsEmpty:
		default:
			return end
		}
		end--
	}
	return end
}

func hasClass(cls []byte, c byte) bool {
	for _, x := range cls {
		if x == c {
			return true
		}
	}
	return false
}

// headerBlockEnd returns the end of the header block starting at i: its
// header lines and their wrapped continuations, up to the first blank
// line.
func headerBlockEnd(lines []string, cls []byte, i, limit int) int {
	j := i
	for j < limit && cls[j] != clsEmpty && cls[j] != clsQuote {
		j++
	}
	return j
}

func firstNonEmpty(cls []byte, from, to int) int {
	for i := from; i < to; i++ {
		if cls[i] != clsEmpty {
			return i
		}
	}
	return to
}

// headerBlock says whether an embedded header block ("From:", "Sent:",
// "To:", "Subject:") starts at line i: a From-like line, and at least
// three header lines (or two with a date) close together.
func headerBlock(lines []string, cls []byte, i int) bool {
	count, from, date, gap := 0, false, false, 0
	for j := i; j < len(lines) && j < i+15; j++ {
		switch cls[j] {
		case clsHeader:
			count++
			gap = 0
			if reHeaderFrom.MatchString(lines[j]) {
				from = true
			}
			if reHeaderDate.MatchString(lines[j]) {
				date = true
			}
		case clsEmpty, clsText, clsMarker:
			// Wrapped values and blank lines between headers.
			gap++
			if gap > 2 {
				return from && (count >= 3 || count >= 2 && date)
			}
		default:
			return from && (count >= 3 || count >= 2 && date)
		}
		if from && (count >= 3 || count >= 2 && date) {
			return true
		}
	}
	return from && (count >= 3 || count >= 2 && date)
}

// suspicious reports a cut that removed mostly text that does not look
// quoted: a body below a misplaced "-- ", or prose under an attribution
// without any ">" lines. Such a cut may hide the actual request.
func suspicious(lines []string, cls []byte, nextQuote []int, end int, newText string) bool {
	var unquoted []string
	below := false // below a marker we trust: what follows is history
	for i := end; i < len(lines); i++ {
		switch cls[i] {
		case clsMarker:
			// An attribution is trusted when quotes follow it; forward and
			// original-message markers are unambiguous on their own.
			if nextQuote[i] < len(lines) || reForward.MatchString(lines[i]) || reOneLineHeader.MatchString(lines[i]) {
				below = true
			}
		case clsHeader:
			if headerBlock(lines, cls, i) {
				below = true
			}
		case clsText:
			if !below {
				unquoted = append(unquoted, lines[i])
			}
		}
	}
	if len(unquoted) == 0 {
		return false
	}
	prose, size := false, 0
	for _, l := range unquoted {
		size += len(strings.TrimSpace(l))
		if isProse(l) {
			prose = true
		}
	}
	return prose && size*2 >= len(newText)
}

// isProse tells a sentence from a signature line: signatures are names,
// titles, phone numbers and links, mostly capitalised; prose is mostly
// lowercase words.
func isProse(line string) bool {
	words := strings.Fields(line)
	if len(words) < 5 {
		return false
	}
	lower := 0
	for _, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		if unicode.IsLower(r) || unicode.IsDigit(r) {
			lower++
		}
	}
	return lower*10 >= len(words)*6
}
