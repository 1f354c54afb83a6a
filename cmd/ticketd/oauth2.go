package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/mailer"
	"github.com/ticketd/ticketd/oauth"
)

func init() {
	commands["oauth2"] = command{"oauth2 login: sign an XOAUTH2 account in (device code) and write its refresh token file", runOAuth2}
}

const oauth2Usage = "usage: ticketd oauth2 login -config FILE (--imap N | --outbound) [--browser [--listen 127.0.0.1:PORT]]"

func runOAuth2(env *cmdEnv, args []string) int {
	f := newFlags(env, "oauth2 login")
	imapN := f.Int("imap", -1, "the [[imap]] entry to sign in, counted from 0 in file order")
	outbound := f.Bool("outbound", false, "sign in the [outbound] smarthost account")
	browser := f.Bool("browser", false, "sign in with a browser sent back to this machine (authorization code with PKCE) instead of a device code; always so for provider = \"google\"")
	listen := f.String("listen", "127.0.0.1:0", "with --browser: where the browser comes back (a fixed port for an ssh tunnel, e.g. 127.0.0.1:8765)")
	pos, code, ok := f.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 || pos[0] != "login" || (*imapN >= 0) == *outbound {
		fmt.Fprintln(env.stderr, oauth2Usage)
		return exitUsage
	}
	cfg, ok := f.loadConfig()
	if !ok {
		return exitConfig
	}
	oc, problem := loginTarget(cfg, *imapN, *outbound)
	if problem != "" {
		fmt.Fprintf(env.stderr, "ticketd: %s\n", problem)
		return exitConfig
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *browser || oc.Provider == "google" {
		if !*browser {
			fmt.Fprintln(env.stdout, "Google's device sign-in does not grant the Gmail scope, so this uses a browser instead.")
		}
		err = oauth.BrowserLogin(ctx, oc, *listen, nil, func(authURL string) {
			fmt.Fprintf(env.stdout, "To sign in %s for ticketd, open this address in a browser on this machine\n"+
				"(from elsewhere, first forward its port with ssh -L PORT:127.0.0.1:PORT, using --listen to fix the port):\n\n    %s\n\n"+
				"Waiting for the browser to come back...\n", oc.Account, authURL)
		})
	} else {
		err = deviceLogin(ctx, env, oc)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "ticketd: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(env.stdout, "Signed in. The refresh token is in %s (mode 0600); a running ticketd uses it at its next attempt, no restart needed.\n", oc.RefreshTokenFile)
	return exitOK
}

// deviceLogin runs the device code sign-in, printing where to go.
func deviceLogin(ctx context.Context, env *cmdEnv, oc config.OAuth2) error {
	return oauth.DeviceLogin(ctx, oc, nil, func(uri, code, complete string, expires time.Time) {
		fmt.Fprintf(env.stdout, "To sign in %s for ticketd, open\n\n    %s\n\nand enter the code\n\n    %s\n\n", oc.Account, uri, code)
		if complete != "" {
			fmt.Fprintf(env.stdout, "(or open %s, which has the code in it)\n", complete)
		}
		if !expires.IsZero() {
			fmt.Fprintf(env.stdout, "The code is valid until %s. Waiting for the sign-in...\n", expires.Local().Format("15:04:05"))
		} else {
			fmt.Fprintln(env.stdout, "Waiting for the sign-in...")
		}
	})
}

// loginTarget picks the account `oauth2 login` signs in.
func loginTarget(cfg *config.Config, imapN int, outbound bool) (config.OAuth2, string) {
	if outbound {
		if cfg.Outbound.Transport != "smtp" || cfg.Outbound.SMTPAuth != "xoauth2" {
			return config.OAuth2{}, `[outbound] does not use XOAUTH2: set transport = "smtp" and smtp_auth = "xoauth2" first`
		}
		return cfg.OutboundOAuth2(), ""
	}
	if imapN >= len(cfg.IMAP) {
		return config.OAuth2{}, fmt.Sprintf("--imap %d: the file has %d [[imap]] entries (counted from 0)", imapN, len(cfg.IMAP))
	}
	if cfg.IMAP[imapN].Auth != "xoauth2" {
		return config.OAuth2{}, fmt.Sprintf(`imap[%d] does not use XOAUTH2: set auth = "xoauth2" first`, imapN)
	}
	return cfg.IMAPOAuth2(imapN), ""
}

// checkOutbound logs in to the smarthost when it uses XOAUTH2
// (check-config --connect); it reports whether that worked.
func checkOutbound(ctx context.Context, w io.Writer, cfg *config.Config) bool {
	if cfg.Outbound.Transport != "smtp" || cfg.Outbound.SMTPAuth != "xoauth2" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	tokens := daemon.OutboundTokens(cfg, daemon.Options{Log: quietLog})
	life, err := tokens.Refresh(ctx)
	if err == nil {
		t := daemon.TransportFor(cfg, daemon.Options{Log: quietLog}).(*mailer.SMTPPool).SMTPTransport
		t.Tokens = tokens
		err = t.Check(ctx)
	}
	if err != nil {
		fmt.Fprintf(w, "outbound %s@%s: FAILED: %v\n", cfg.Outbound.SMTPUsername, cfg.Outbound.SMTPAddr, err)
		return false
	}
	fmt.Fprintf(w, "outbound %s@%s: XOAUTH2 login ok (access tokens live %s)\n", cfg.Outbound.SMTPUsername, cfg.Outbound.SMTPAddr, life)
	return true
}
