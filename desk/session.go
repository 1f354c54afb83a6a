package desk

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"golang.org/x/crypto/bcrypt"

	"github.com/ticketd/ticketd"
)

// session is one client connection.
type session struct {
	srv   *Server
	conn  *imapserver.Conn
	agent string // lower case, after login
	// uidValidity is the agent's, the same for all her folders.
	uidValidity uint32
	sel         *selection
}

// selection is the selected folder as this client knows it: its messages
// in sequence order and the flags last reported.
type selection struct {
	f        *folder
	readOnly bool
	entries  []ticketd.DeskEntry
	seen     map[uint32]bool
	// acted are UIDs this client moved or copied: the \Deleted a client
	// sets after "COPY then delete" is taken (and forgotten) for them.
	acted     map[uint32]bool
	searchRes imap.UIDSet
}

var _ imapserver.SessionIMAP4rev2 = (*session)(nil)

func no(code imap.ResponseCode, format string, args ...any) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: fmt.Sprintf(format, args...)}
}

func (s *session) Close() error { return nil }

// dummyHash is compared against when the user is unknown, so that a wrong
// address takes as long to refuse as a wrong password. It is made on first
// use: every ticketd command links this package, and `inject` must not pay
// for a hash it never needs.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("ticketd desk"), bcrypt.DefaultCost)
	return h
})

// Login checks an agent's desk password. Plain text is accepted only over
// TLS or from loopback; repeated failures from one address are slowed down.
func (s *session) Login(username, password string) error {
	nc := s.conn.NetConn()
	if _, isTLS := nc.(*tls.Conn); !isTLS && !isLoopback(nc.RemoteAddr()) {
		return no(imap.ResponseCodePrivacyRequired, "Use STARTTLS (or TLS) before logging in")
	}
	host := hostOf(nc.RemoteAddr())
	if d := s.srv.loginDelay(host); d > 0 {
		s.srv.opt.Sleep(d)
	}
	cfg := s.srv.cfg()
	email := strings.ToLower(strings.TrimSpace(username))
	var acct *ticketd.DeskAgent
	err := s.srv.view(func(_ ticketd.Tx, d ticketd.DeskTx) error {
		a, err := d.DeskAgent(email)
		if errors.Is(err, ticketd.ErrNotFound) {
			return nil
		}
		acct = a
		return err
	})
	if err != nil {
		s.srv.opt.Log.Error("desk: login", "from", email, "err", err)
		return no(imap.ResponseCodeUnavailable, "Try again later")
	}
	hash := dummyHash()
	if acct != nil && acct.PasswordHash != "" {
		hash = []byte(acct.PasswordHash)
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !ok || acct == nil || cfg.Agent(email) == nil || len(served(cfg, email)) == 0 {
		s.srv.loginFailed(host)
		s.srv.opt.Log.Warn("desk: login failed", "from", email, "addr", host)
		return imapserver.ErrAuthFailed
	}
	s.srv.loginSucceeded(host)
	// The agent's UIDVALIDITY stands for the mailboxes she serves: when
	// they change, tickets may appear under UIDs her client has passed.
	scope := strings.Join(served(cfg, email), ",")
	if acct.Scope != scope || acct.UIDValidity == 0 {
		// Decided again on the account as it is now, in the transaction
		// that writes it (locked there on PostgreSQL): another session or
		// process may have changed it since, or a new password been set,
		// which a write of the copy read above would undo.
		err := s.srv.update(func(_ ticketd.Tx, d ticketd.DeskTx) error {
			cur, err := d.DeskAgent(email)
			if err != nil {
				return err
			}
			if cur.Scope != scope || cur.UIDValidity == 0 {
				next := uint32(s.srv.opt.Now().Unix())
				if next <= cur.UIDValidity {
					next = cur.UIDValidity + 1
				}
				cur.UIDValidity, cur.Scope = next, scope
				if err := d.SaveDeskAgent(cur); err != nil {
					return err
				}
			}
			acct = cur
			return nil
		})
		if err != nil {
			s.srv.opt.Log.Error("desk: login", "from", email, "err", err)
			return no(imap.ResponseCodeUnavailable, "Try again later")
		}
	}
	s.agent, s.uidValidity = email, acct.UIDValidity
	s.srv.opt.Log.Info("desk: login", "from", email, "addr", host)
	return nil
}

// load reads folder f's entries and this agent's \Seen marks on them.
func (s *session) load(f *folder) ([]ticketd.DeskEntry, map[uint32]bool, uint32, error) {
	var es []ticketd.DeskEntry
	var seen map[uint32]bool
	var last uint32
	err := s.srv.view(func(_ ticketd.Tx, d ticketd.DeskTx) error {
		var err error
		if es, err = d.DeskFolder(filterFor(s.srv.cfg(), f, s.agent, s.srv.opt.Now())); err != nil {
			return err
		}
		uids := make([]uint32, len(es))
		for i, e := range es {
			uids[i] = e.UID
		}
		if seen, err = d.DeskSeen(s.agent, uids); err != nil {
			return err
		}
		last, err = d.DeskLastUID()
		return err
	})
	if err != nil {
		s.srv.opt.Log.Error("desk: folder", "from", s.agent, "folder", f.Name, "err", err)
		return nil, nil, 0, no(imap.ResponseCodeUnavailable, "Try again later")
	}
	return es, seen, last, nil
}

func (s *session) folder(name string) (*folder, error) {
	f := findFolder(name)
	if f == nil {
		return nil, no(imap.ResponseCodeNonExistent, "No folder %q; the desk has INBOX, Nuevo, Abierto, Pendiente, Cerrado, Mios and Libres", name)
	}
	return f, nil
}

func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	f, err := s.folder(name)
	if err != nil {
		return nil, err
	}
	es, seen, last, err := s.load(f)
	if err != nil {
		return nil, err
	}
	s.sel = &selection{f: f, readOnly: options.ReadOnly, entries: es, seen: seen, acted: map[uint32]bool{}}
	data := &imap.SelectData{
		Flags:          []imap.Flag{imap.FlagSeen, imap.FlagDeleted},
		PermanentFlags: []imap.Flag{imap.FlagSeen},
		NumMessages:    uint32(len(es)),
		UIDNext:        imap.UID(last + 1),
		UIDValidity:    s.uidValidity,
	}
	for i, e := range es {
		if !seen[e.UID] {
			data.FirstUnseenSeqNum = uint32(i + 1)
			break
		}
	}
	return data, nil
}

func (s *session) Unselect() error {
	s.sel = nil
	return nil
}

func (s *session) Create(string, *imap.CreateOptions) error {
	return no(imap.ResponseCodeCannot, "The desk's folders are fixed")
}

func (s *session) Delete(string) error {
	return no(imap.ResponseCodeCannot, "The desk's folders are fixed")
}

func (s *session) Rename(string, string, *imap.RenameOptions) error {
	return no(imap.ResponseCodeCannot, "The desk's folders are fixed")
}

// Subscribe and Unsubscribe change nothing: every folder is always
// subscribed, which is what clients that insist on subscribing expect.
func (s *session) Subscribe(name string) error {
	_, err := s.folder(name)
	return err
}

func (s *session) Unsubscribe(name string) error {
	_, err := s.folder(name)
	return err
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: '/'}}}, nil
}

func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
	}
	for _, f := range folderList {
		match := false
		for _, p := range patterns {
			match = match || imapserver.MatchList(f.Name, '/', ref, p)
		}
		if !match {
			continue
		}
		data := &imap.ListData{Mailbox: f.Name, Delim: '/', Attrs: []imap.MailboxAttr{imap.MailboxAttrHasNoChildren}}
		if options.SelectSubscribed || options.ReturnSubscribed {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	f, err := s.folder(name)
	if err != nil {
		return nil, err
	}
	es, seen, last, err := s.load(f)
	if err != nil {
		return nil, err
	}
	data := &imap.StatusData{Mailbox: f.Name}
	if options.NumMessages {
		n := uint32(len(es))
		data.NumMessages = &n
	}
	if options.UIDNext {
		data.UIDNext = imap.UID(last + 1)
	}
	if options.UIDValidity {
		data.UIDValidity = s.uidValidity
	}
	if options.NumUnseen {
		var n uint32
		for _, e := range es {
			if !seen[e.UID] {
				n++
			}
		}
		data.NumUnseen = &n
	}
	if options.NumRecent {
		var n uint32
		data.NumRecent = &n
	}
	return data, nil
}

func (s *session) Append(string, imap.LiteralReader, *imap.AppendOptions) (*imap.AppendData, error) {
	return nil, no(imap.ResponseCodeCannot, "The desk shows tickets; to write, reply to a ticket's message or mail the support address")
}

// Poll reports what changed in the selected folder since the client last
// heard: tickets that left it or changed (EXPUNGE of the old UID, when
// allowed), tickets that came (EXISTS), and \Seen set elsewhere.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel == nil {
		return nil
	}
	es, seen, _, err := s.load(s.sel.f)
	if err != nil {
		return err
	}
	return s.sync(es, seen, allowExpunge, w.WriteExpunge, w.WriteNumMessages, w.WriteMessageFlags)
}

// sync brings the selection to es, writing the updates through the given
// functions (nil ones are skipped).
func (s *session) sync(es []ticketd.DeskEntry, seen map[uint32]bool, allowExpunge bool,
	expunge func(uint32) error, exists func(uint32) error, flags func(uint32, imap.UID, []imap.Flag) error) error {
	sel := s.sel
	now := map[uint32]bool{}
	for _, e := range es {
		now[e.UID] = true
	}
	if allowExpunge && expunge != nil {
		for i := len(sel.entries) - 1; i >= 0; i-- {
			if now[sel.entries[i].UID] {
				continue
			}
			if err := expunge(uint32(i + 1)); err != nil {
				return err
			}
			delete(sel.acted, sel.entries[i].UID)
			sel.entries = slices.Delete(sel.entries, i, i+1)
		}
	}
	known := map[uint32]bool{}
	var top uint32
	for _, e := range sel.entries {
		known[e.UID] = true
		top = max(top, e.UID)
	}
	added := false
	for _, e := range es {
		if exists == nil {
			break // no way to tell the client: the next poll adds them
		}
		// A UID below the highest one shown cannot be added without
		// breaking the client's view; it comes after the next expunge
		// (UIDs only grow, so this is a ticket the client saw leave).
		if !known[e.UID] && e.UID > top {
			sel.entries = append(sel.entries, e)
			added = true
		}
	}
	if added && exists != nil {
		if err := exists(uint32(len(sel.entries))); err != nil {
			return err
		}
	}
	for i, e := range sel.entries {
		if !now[e.UID] {
			continue
		}
		if seen[e.UID] != sel.seen[e.UID] && flags != nil {
			if err := flags(uint32(i+1), imap.UID(e.UID), flagList(seen[e.UID])); err != nil {
				return err
			}
		}
	}
	sel.seen = seen
	return nil
}

func flagList(seen bool) []imap.Flag {
	if seen {
		return []imap.Flag{imap.FlagSeen}
	}
	return []imap.Flag{}
}

// Idle waits for changes and reports them: at once for those made by this
// process (Notify), within PollInterval for the others.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(s.srv.opt.PollInterval)
	defer t.Stop()
	for {
		// Take the channel before looking, so that a change committed
		// while this poll runs (or before IDLE began) is not missed.
		changed := s.srv.changes()
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		case <-changed:
		}
	}
}

// pick resolves a sequence or UID set against the selection.
func (s *session) pick(numSet imap.NumSet) []int {
	sel := s.sel
	if imap.IsSearchRes(numSet) {
		numSet = sel.searchRes
	}
	var out []int
	switch set := numSet.(type) {
	case imap.SeqSet:
		n := uint32(len(sel.entries))
		for i := range sel.entries {
			if containsSeq(set, uint32(i+1), n) {
				out = append(out, i)
			}
		}
	case imap.UIDSet:
		var top uint32
		if len(sel.entries) > 0 {
			top = sel.entries[len(sel.entries)-1].UID
		}
		for i, e := range sel.entries {
			if containsUID(set, e.UID, top) {
				out = append(out, i)
			}
		}
	}
	return out
}

// containsSeq is SeqSet.Contains with "*" standing for the last message.
func containsSeq(set imap.SeqSet, n, last uint32) bool {
	for _, r := range set {
		start, stop := r.Start, r.Stop
		if start == 0 {
			start = last
		}
		if stop == 0 {
			stop = last
		}
		if start > stop {
			start, stop = stop, start
		}
		if n >= start && n <= stop {
			return true
		}
	}
	return false
}

func containsUID(set imap.UIDSet, uid, last uint32) bool {
	for _, r := range set {
		start, stop := uint32(r.Start), uint32(r.Stop)
		if start == 0 {
			start = last
		}
		if stop == 0 {
			stop = last
		}
		if start > stop {
			start, stop = stop, start
		}
		if uid >= start && uid <= stop {
			return true
		}
	}
	return false
}

// message returns the rendered desk message of one entry, or nil when the
// ticket changed since (its old UID will be expunged at the next poll).
func (s *session) message(e ticketd.DeskEntry) (*rendered, error) {
	k := cacheKey{s.agent, e.UID}
	if r := s.srv.cache.get(k); r != nil {
		return r, nil
	}
	var v *view
	err := s.srv.view(func(tx ticketd.Tx, d ticketd.DeskTx) error {
		cur, err := d.DeskEntry(e.Ticket)
		if err != nil || cur.UID != e.UID {
			return err
		}
		v = &view{UID: e.UID}
		if v.Ticket, err = tx.TicketByNumber(e.Ticket); err != nil {
			return err
		}
		if v.Messages, err = tx.Messages(e.Ticket); err != nil {
			return err
		}
		v.Thread, err = tx.ThreadIDs(e.Ticket)
		return err
	})
	if err != nil || v == nil {
		return nil, err
	}
	key := s.srv.opt.Key
	if s.srv.opt.SigningKey != nil {
		key = s.srv.opt.SigningKey()
	}
	data, text, err := render(s.srv.cfg(), key, s.agent, v)
	if err != nil {
		return nil, err
	}
	r := &rendered{data: data, text: text, ticket: v.Ticket}
	s.srv.cache.put(k, r)
	return r, nil
}

func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	sel := s.sel
	idx := s.pick(numSet)
	markSeen := false
	for _, bs := range options.BodySection {
		markSeen = markSeen || !bs.Peek
	}
	markSeen = markSeen && !sel.readOnly
	if markSeen {
		var uids []uint32
		for _, i := range idx {
			if !sel.seen[sel.entries[i].UID] {
				uids = append(uids, sel.entries[i].UID)
			}
		}
		if len(uids) > 0 {
			if err := s.setSeen(uids, true); err != nil {
				return err
			}
		}
	}
	for _, i := range idx {
		e := sel.entries[i]
		r, err := s.message(e)
		if err != nil {
			s.srv.opt.Log.Error("desk: fetch", "from", s.agent, "ticket", e.Ticket, "err", err)
			return no(imap.ResponseCodeUnavailable, "Try again later")
		}
		if r == nil {
			continue
		}
		if err := writeFetch(w.CreateMessage(uint32(i+1)), e.UID, r, sel.seen[e.UID], options, markSeen); err != nil {
			return err
		}
	}
	return nil
}

func writeFetch(w *imapserver.FetchResponseWriter, uid uint32, r *rendered, seen bool, options *imap.FetchOptions, markSeen bool) error {
	w.WriteUID(imap.UID(uid))
	if options.Flags || markSeen {
		w.WriteFlags(flagList(seen))
	}
	if options.InternalDate {
		w.WriteInternalDate(r.ticket.UpdatedAt)
	}
	if options.RFC822Size {
		w.WriteRFC822Size(int64(len(r.data)))
	}
	if options.Envelope {
		w.WriteEnvelope(envelope(r.data))
	}
	if options.BodyStructure != nil {
		w.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(r.data)))
	}
	for _, bs := range options.BodySection {
		buf := imapserver.ExtractBodySection(bytes.NewReader(r.data), bs)
		wc := w.WriteBodySection(bs, int64(len(buf)))
		_, werr := wc.Write(buf)
		if cerr := wc.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	for _, bs := range options.BinarySection {
		buf := imapserver.ExtractBinarySection(bytes.NewReader(r.data), bs)
		wc := w.WriteBinarySection(bs, int64(len(buf)))
		_, werr := wc.Write(buf)
		if cerr := wc.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	for _, bss := range options.BinarySectionSize {
		w.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytes.NewReader(r.data), bss))
	}
	return w.Close()
}

// setSeen records \Seen for this agent and in the selection.
func (s *session) setSeen(uids []uint32, seen bool) error {
	err := s.srv.update(func(_ ticketd.Tx, d ticketd.DeskTx) error { return d.SetDeskSeen(s.agent, uids, seen) })
	if err != nil {
		s.srv.opt.Log.Error("desk: seen", "from", s.agent, "err", err)
		return no(imap.ResponseCodeUnavailable, "Try again later")
	}
	for _, u := range uids {
		s.sel.seen[u] = seen
	}
	// Her other sessions (the phone beside the desktop) show it at once.
	s.srv.Notify()
	return nil
}

// Store changes \Seen, the one flag of the desk that a client may set. A
// \Deleted after a COPY into Mios, Libres or Cerrado is taken as the
// second half of a move, and forgotten; any other flag is refused.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) error {
	sel := s.sel
	if sel.readOnly {
		return no(imap.ResponseCodeCannot, "The folder is open read-only (EXAMINE)")
	}
	idx := s.pick(numSet)
	hasSeen, hasDeleted := false, false
	for _, f := range flags.Flags {
		switch {
		case strings.EqualFold(string(f), string(imap.FlagSeen)):
			hasSeen = true
		case strings.EqualFold(string(f), string(imap.FlagDeleted)):
			hasDeleted = true
		default:
			return no(imap.ResponseCodeCannot, "Only \\Seen can be set on the desk, not %s", f)
		}
	}
	if hasDeleted && flags.Op != imap.StoreFlagsDel {
		for _, i := range idx {
			if !sel.acted[sel.entries[i].UID] {
				return no(imap.ResponseCodeCannot, "Tickets are not deleted: move a ticket into Cerrado to close it")
			}
		}
	}
	var seen bool
	change := hasSeen
	switch flags.Op {
	case imap.StoreFlagsAdd:
		seen = true
	case imap.StoreFlagsDel:
		seen = false
	case imap.StoreFlagsSet:
		seen, change = hasSeen, true
	}
	if change {
		var uids []uint32
		for _, i := range idx {
			if sel.seen[sel.entries[i].UID] != seen {
				uids = append(uids, sel.entries[i].UID)
			}
		}
		if len(uids) > 0 {
			if err := s.setSeen(uids, seen); err != nil {
				return err
			}
		}
	}
	if flags.Silent {
		return nil
	}
	for _, i := range idx {
		e := sel.entries[i]
		rw := w.CreateMessage(uint32(i + 1))
		rw.WriteUID(imap.UID(e.UID))
		rw.WriteFlags(flagList(sel.seen[e.UID]))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Expunge deletes nothing (tickets are closed, never deleted); it reports
// the messages that left the folder, such as the old copy of a ticket
// moved away.
func (s *session) Expunge(w *imapserver.ExpungeWriter, _ *imap.UIDSet) error {
	es, seen, _, err := s.load(s.sel.f)
	if err != nil {
		return err
	}
	return s.sync(es, seen, true, w.WriteExpunge, nil, nil)
}

func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.act(numSet, dest)
}

func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	data, err := s.act(numSet, dest)
	if err != nil {
		return err
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	es, seen, _, err := s.load(s.sel.f)
	if err != nil {
		return err
	}
	return s.sync(es, seen, true, w.WriteExpunge, nil, nil)
}
