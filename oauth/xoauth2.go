package oauth

import (
	"encoding/json"
	"errors"

	"github.com/emersion/go-sasl"
)

// XOAUTH2 is the SASL mechanism name Microsoft and Google use for IMAP and
// SMTP logins with an OAuth2 access token.
const XOAUTH2 = "XOAUTH2"

// NewXOAUTH2Client returns a SASL client that logs in as user with an
// access token (go-sasl has OAUTHBEARER, which neither provider takes).
func NewXOAUTH2Client(user, token string) sasl.Client {
	return &xoauth2Client{user: user, token: token}
}

type xoauth2Client struct {
	user, token string
	failed      bool
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return XOAUTH2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the one challenge a server sends: a JSON error after a
// refused token. The empty response lets the server finish with its
// failure reply, which carries the reason.
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	if c.failed {
		return nil, errors.New("xoauth2: unexpected second challenge")
	}
	c.failed = true
	var e struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(challenge, &e) != nil {
		return nil, errors.New("xoauth2: the server sent a challenge that is not a JSON error")
	}
	return []byte{}, nil
}
