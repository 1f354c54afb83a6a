package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
)

// Errors of SetPassword a caller tells the admin about.
var (
	ErrNotAgent      = errors.New("not an [[agents]] entry")
	ErrEmptyPassword = errors.New("the password is empty")
	ErrLongPassword  = errors.New("the password is longer than 72 bytes")
)

// SetPassword stores a bcrypt hash of password as the desk password of
// the agent email, who must be an [[agents]] entry of cfg. The agent's
// UIDVALIDITY is kept, so her mail client keeps its cache.
func SetPassword(ctx context.Context, st ticketd.Store, cfg *config.Config, email, password string, now time.Time) error {
	if cfg.Agent(email) == nil {
		return fmt.Errorf("%s: %w", email, ErrNotAgent)
	}
	if password == "" {
		return ErrEmptyPassword
	}
	if len(password) > 72 {
		return ErrLongPassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("desk: hash: %w", err)
	}
	return st.Update(ctx, func(tx ticketd.Tx) error {
		d, ok := tx.(ticketd.DeskTx)
		if !ok {
			return errNoDesk
		}
		a, err := d.DeskAgent(email)
		if errors.Is(err, ticketd.ErrNotFound) {
			a, err = &ticketd.DeskAgent{Email: strings.ToLower(email)}, nil
		}
		if err != nil {
			return err
		}
		a.PasswordHash, a.PasswordAt = string(hash), now.UTC()
		return d.SaveDeskAgent(a)
	})
}
