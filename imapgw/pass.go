package imapgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ticketd/ticketd"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd/intake"
)

// noAckAge: backlog mail older than this gets no acknowledgement.
const noAckAge = 24 * time.Hour

// session is one logged-in connection with its folder selected.
type session struct {
	g       *Gateway
	c       *imapclient.Client
	st      ticketd.IMAPState
	folders map[string]bool // folders known to exist
}

// deliverError is a temporary intake failure: the mail stays in place and
// is taken on a later pass.
type deliverError struct {
	uid imap.UID
	err error
}

func (e *deliverError) Error() string {
	if e.uid == 0 {
		return fmt.Sprintf("imap: store: %v", e.err)
	}
	return fmt.Sprintf("imap: deliver uid %d: %v", e.uid, e.err)
}
func (e *deliverError) Unwrap() error { return e.err }

// counts are what one pass did, logged as one line.
type counts struct {
	fetched, stored, duplicates, quarantined, left, failed int
}

// syncState loads where the folder stands. On the first connection, and
// after the server changed UIDVALIDITY (every UID renumbered), the mail
// already there becomes a backlog that is taken only when unseen and
// recent; what is left is reported once.
func (s *session) syncState(ctx context.Context, sel *imap.SelectData) error {
	g := s.g
	var st *ticketd.IMAPState
	err := g.opt.Store.View(ctx, func(tx ticketd.Tx) error {
		var err error
		st, err = tx.IMAPState(g.src)
		return err
	})
	switch {
	case err == nil && st.UIDValidity == sel.UIDValidity:
		s.st = *st
		return nil
	case err == nil:
		g.log.Warn("imap UIDVALIDITY changed: re-scanning the folder; mail already stored is recognised and not imported again",
			"old", st.UIDValidity, "new", sel.UIDValidity)
	case !errors.Is(err, ticketd.ErrNotFound):
		return err
	}
	top := uint32(sel.UIDNext)
	if top > 0 {
		top--
	} else if top, err = s.maxUID(); err != nil {
		return err
	}
	s.st = ticketd.IMAPState{UIDValidity: sel.UIDValidity, BacklogTop: top}
	if err := s.reportBacklog(); err != nil {
		return err
	}
	return s.save(ctx)
}

// maxUID finds the highest UID when the server did not say UIDNEXT.
func (s *session) maxUID() (uint32, error) {
	data, err := s.c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		return 0, err
	}
	var top uint32
	for _, u := range data.AllUIDs() {
		top = max(top, uint32(u))
	}
	return top, nil
}

// reportBacklog counts, without fetching bodies, what the backlog rule will
// take and leave, and says it once.
func (s *session) reportBacklog() error {
	if s.st.BacklogTop == 0 {
		return nil
	}
	var set imap.UIDSet
	set.AddRange(1, imap.UID(s.st.BacklogTop))
	cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true})
	var take, seen, old int
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		b, err := m.Collect()
		if err != nil {
			cmd.Close()
			return err
		}
		switch s.backlogVerdict(b.UID, b.Flags, b.InternalDate) {
		case "":
			take++
		case "seen":
			seen++
		default:
			old++
		}
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	if take+seen+old > 0 {
		s.g.log.Info("imap backlog: mail already in the folder", "taking", take, "leaving_seen", seen,
			"leaving_older", old, "backlog_days", s.g.cfg.BacklogDays)
	}
	return nil
}

// backlogVerdict says why a backlog mail is left untouched ("seen",
// "older"), or "" when it is taken. Mail above the backlog is always taken,
// seen or not: a person may have read it in another client.
func (s *session) backlogVerdict(uid imap.UID, flags []imap.Flag, date time.Time) string {
	if uint32(uid) > s.st.BacklogTop {
		return ""
	}
	if slices.Contains(flags, imap.FlagSeen) {
		return "seen"
	}
	cutoff := s.g.opt.Now().AddDate(0, 0, -s.g.cfg.BacklogDays)
	if !date.IsZero() && date.Before(cutoff) {
		return "older"
	}
	return ""
}

func (s *session) save(ctx context.Context) error {
	s.st.UpdatedAt = s.g.opt.Now()
	st := s.st
	return s.g.opt.Store.Update(ctx, func(tx ticketd.Tx) error { return tx.SaveIMAPState(s.g.src, &st) })
}

// takeTurn runs one pass. On a database that several processes share,
// passes over one folder take turns (an advisory lock, ticketd.Shared):
// every process may watch the folder, and whichever wakes first reads it,
// while the others wait and then start from where it stopped, so each
// mail is read and delivered once, and the folder is still read when one
// of the processes is gone.
func (s *session) takeTurn(ctx context.Context) error {
	sh, ok := s.g.opt.Store.(ticketd.Shared)
	if !ok {
		return s.pass(ctx)
	}
	ran := false
	err := sh.Exclusive(ctx, "imap "+s.g.src.Username+"@"+s.g.src.Addr+"/"+s.g.src.Folder, func(ctx context.Context) error {
		ran = true
		if err := s.catchUp(ctx); err != nil {
			return &deliverError{err: err}
		}
		return s.pass(ctx)
	})
	if err != nil && !ran {
		// The database, not the IMAP connection, failed.
		return &deliverError{err: err}
	}
	return err
}

// catchUp moves this session's position to what another process's passes
// over the same folder saved, when that is further on.
func (s *session) catchUp(ctx context.Context) error {
	var st *ticketd.IMAPState
	err := s.g.opt.Store.View(ctx, func(tx ticketd.Tx) error {
		var err error
		st, err = tx.IMAPState(s.g.src)
		return err
	})
	switch {
	case errors.Is(err, ticketd.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if st.UIDValidity == s.st.UIDValidity && st.LastUID > s.st.LastUID {
		s.st = *st
	}
	return nil
}

// pass takes every mail above the last UID handled, in batches.
func (s *session) pass(ctx context.Context) error {
	var n counts
	err := s.passBatches(ctx, &n)
	if n.fetched+n.quarantined+n.left+n.failed > 0 {
		s.g.log.Info("imap pass", "fetched", n.fetched, "stored", n.stored, "duplicates", n.duplicates,
			"quarantined", n.quarantined, "left", n.left, "failed", n.failed, "last_uid", s.st.LastUID)
	} else {
		s.g.log.Debug("imap pass", "fetched", 0, "last_uid", s.st.LastUID)
	}
	return err
}

func (s *session) passBatches(ctx context.Context, n *counts) error {
	var set imap.UIDSet
	set.AddRange(imap.UID(s.st.LastUID+1), 0) // LastUID+1:*
	data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return err
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		// "n:*" matches the highest UID even when it is below n.
		if uint32(u) > s.st.LastUID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	for len(uids) > 0 {
		k := min(len(uids), s.g.opt.BatchSize)
		if err := s.batch(ctx, uids[:k], n); err != nil {
			return err
		}
		uids = uids[k:]
	}
	return nil
}

// meta is what FETCH says about a mail before its body is asked for.
type meta struct {
	flags []imap.Flag
	date  time.Time
	size  int64
}

// batch takes a few UIDs: sizes and flags first, then the bodies one by
// one, then marks what intake committed and records the new last UID.
func (s *session) batch(ctx context.Context, uids []imap.UID, n *counts) error {
	g := s.g
	g.log.Debug("imap batch", "first_uid", uids[0], "last_uid", uids[len(uids)-1], "uids", len(uids))
	metas, err := s.fetchMeta(uids)
	if err != nil {
		return err
	}
	var limit int64
	if g.opt.MaxMessageBytes != nil {
		limit = g.opt.MaxMessageBytes()
	}
	b := &batchState{resolved: map[imap.UID]bool{}}
	s.triage(b, uids, metas, limit, n)
	if b.wantN > 0 {
		if err := s.deliverAll(ctx, b, metas, limit, n); err != nil {
			return err
		}
		if b.failed == nil {
			for _, u := range uids {
				if b.want.Contains(u) && !b.seen[u] {
					b.resolved[u] = true // vanished between the two FETCHes
				}
			}
		}
	}
	if err := s.settle(ctx, b, uids, n); err != nil {
		return err
	}
	if b.failed != nil {
		return b.failed
	}
	return nil
}

// batchState is what one batch learned about its UIDs.
type batchState struct {
	resolved   map[imap.UID]bool // handled for good: stored, quarantined, left, or gone
	want       imap.UIDSet       // to fetch whole
	wantN      int
	seen       map[imap.UID]bool // fetched whole
	done       []imap.UID        // stored (or stored before): mark or move
	quarantine []imap.UID
	failed     *deliverError // the first mail intake could not take
}

// triage decides from the metadata alone what to do with each UID: gone,
// left by the backlog rule, too big, or to be fetched.
func (s *session) triage(b *batchState, uids []imap.UID, metas map[imap.UID]meta, limit int64, n *counts) {
	g := s.g
	for _, u := range uids {
		m, ok := metas[u]
		if !ok { // expunged by someone else meanwhile
			b.resolved[u] = true
			continue
		}
		if v := s.backlogVerdict(u, m.flags, m.date); v != "" {
			n.left++
			b.resolved[u] = true
			continue
		}
		if limit > 0 && m.size > limit {
			g.log.Warn("imap mail over the size limit: quarantined", "uid", u, "bytes", m.size, "limit", limit, "quarantine", g.cfg.Quarantine)
			b.quarantine = append(b.quarantine, u)
			continue
		}
		b.want.AddNum(u)
		b.wantN++
	}
}

// deliverAll fetches the wanted mails whole and hands each to intake. After
// a failure, later mail waits for the next pass.
func (s *session) deliverAll(ctx context.Context, b *batchState, metas map[imap.UID]meta, limit int64, n *counts) error {
	g := s.g
	b.seen = map[imap.UID]bool{}
	cmd := s.c.Fetch(b.want, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		uid, raw, oversize, err := readMessage(msg, limit)
		if err != nil {
			cmd.Close()
			return err
		}
		if uid == 0 || b.failed != nil {
			continue
		}
		b.seen[uid] = true
		if oversize {
			g.log.Warn("imap mail over the size limit: quarantined", "uid", uid, "limit", limit, "quarantine", g.cfg.Quarantine)
			b.quarantine = append(b.quarantine, uid)
			continue
		}
		n.fetched++
		res, err := g.opt.Desk.Deliver(ctx, s.envelope(raw, metas[uid].date), raw)
		if err == nil && g.failingUID != 0 {
			g.log.Info("imap delivery works again", "uid", uid, "failed_attempts", g.failedAttempts)
			g.failingUID, g.failedAttempts = 0, 0
		}
		switch {
		case errors.Is(err, intake.ErrNotMail):
			g.log.Warn("imap mail is not a mail message: quarantined", "uid", uid, "bytes", len(raw), "quarantine", g.cfg.Quarantine)
			b.quarantine = append(b.quarantine, uid)
		case err != nil:
			n.failed++
			b.failed = &deliverError{uid: uid, err: err}
			g.deliveryFailed(uid, err)
		case res.Duplicate:
			n.duplicates++
			b.done = append(b.done, uid)
		default:
			n.stored++
			b.done = append(b.done, uid)
		}
	}
	return cmd.Close()
}

// settle marks what was stored, quarantines what cannot be, and moves the
// last UID over the handled prefix only, so a mail that failed is fetched
// again.
func (s *session) settle(ctx context.Context, b *batchState, uids []imap.UID, n *counts) error {
	g := s.g
	if err := s.markDone(b.done); err != nil {
		return err
	}
	for _, u := range b.done {
		b.resolved[u] = true
	}
	if len(b.quarantine) > 0 {
		if err := s.move(b.quarantine, g.cfg.Quarantine); err != nil {
			return fmt.Errorf("imap: quarantine: %w", err)
		}
		n.quarantined += len(b.quarantine)
		for _, u := range b.quarantine {
			b.resolved[u] = true
		}
	}
	last := s.st.LastUID
	for _, u := range uids {
		if !b.resolved[u] {
			break
		}
		last = uint32(u)
	}
	if last != s.st.LastUID {
		s.st.LastUID = last
		if err := s.save(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) fetchMeta(uids []imap.UID) (map[imap.UID]meta, error) {
	bufs, err := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, err
	}
	out := make(map[imap.UID]meta, len(bufs))
	for _, b := range bufs {
		if b.UID != 0 {
			out[b.UID] = meta{flags: b.Flags, date: b.InternalDate, size: b.RFC822Size}
		}
	}
	return out, nil
}

// readMessage reads one FETCH response: its UID and the whole message,
// unless the message is over limit.
func readMessage(msg *imapclient.FetchMessageData, limit int64) (uid imap.UID, raw []byte, oversize bool, err error) {
	for {
		item := msg.Next()
		if item == nil {
			return uid, raw, oversize, nil
		}
		switch item := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = item.UID
		case imapclient.FetchItemDataBodySection:
			if item.Literal == nil {
				continue
			}
			if limit > 0 && item.Literal.Size() > limit {
				// RFC822.SIZE said otherwise; believe what is sent.
				oversize = true
				continue
			}
			b, err := io.ReadAll(item.Literal)
			if err != nil {
				return 0, nil, false, err
			}
			raw = b
		}
	}
}

// envelope rebuilds what SMTP would have known: the sender from
// Return-Path (added at final delivery), else From.
func (s *session) envelope(raw []byte, date time.Time) intake.Envelope {
	env := intake.Envelope{Source: "imap", From: envelopeSender(raw), Rcpts: []string{s.g.cfg.Mailbox}}
	if !date.IsZero() && date.Before(s.g.opt.Now().Add(-noAckAge)) {
		env.NoAutoReply = true
	}
	return env
}

func envelopeSender(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	if rp, ok := m.Header["Return-Path"]; ok && len(rp) > 0 {
		v := strings.TrimSpace(rp[0])
		v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
		return strings.TrimSpace(v)
	}
	if a, err := mail.ParseAddress(m.Header.Get("From")); err == nil {
		return a.Address
	}
	return ""
}

// markDone does what `after` says to mail intake committed.
func (s *session) markDone(uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	after := s.g.cfg.After
	switch {
	case after == "seen":
		return s.addFlag(uids, imap.FlagSeen)
	case after == "delete":
		if err := s.addFlag(uids, imap.FlagDeleted); err != nil {
			return err
		}
		return s.expunge(uids)
	default:
		return s.move(uids, moveTarget(after))
	}
}

func (s *session) addFlag(uids []imap.UID, f imap.Flag) error {
	return s.c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{f}}, nil).Close()
}

// expunge removes exactly these UIDs when the server has UIDPLUS; without
// it, EXPUNGE also removes other mail someone flagged \Deleted.
func (s *session) expunge(uids []imap.UID) error {
	if s.c.Caps().Has(imap.CapUIDPlus) {
		return s.c.UIDExpunge(imap.UIDSetNum(uids...)).Close()
	}
	return s.c.Expunge().Close()
}

// move uses MOVE when the server has it. Otherwise it copies, and only
// after the copy succeeded flags and expunges the originals (imapclient's
// own fallback sends all three at once, so a failed COPY would still
// delete).
func (s *session) move(uids []imap.UID, folder string) error {
	if err := s.ensureFolder(folder); err != nil {
		return err
	}
	set := imap.UIDSetNum(uids...)
	if s.c.Caps().Has(imap.CapMove) {
		_, err := s.c.Move(set, folder).Wait()
		return err
	}
	if _, err := s.c.Copy(set, folder).Wait(); err != nil {
		return err
	}
	if err := s.addFlag(uids, imap.FlagDeleted); err != nil {
		return err
	}
	return s.expunge(uids)
}

// ensureFolder creates folder when it is missing (once per connection).
func (s *session) ensureFolder(folder string) error {
	if s.folders[folder] {
		return nil
	}
	ok, err := folderExists(s.c, folder)
	if err != nil {
		return fmt.Errorf("list %q: %w", folder, err)
	}
	if !ok {
		err := s.c.Create(folder, nil).Wait()
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			return fmt.Errorf("create %q: %w", folder, err)
		}
		s.g.log.Info("imap folder created", "created", folder)
	}
	s.folders[folder] = true
	return nil
}
