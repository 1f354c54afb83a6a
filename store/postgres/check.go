package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Steps of Check, named in its errors.
const (
	StepDSN       = "dsn"
	StepDNS       = "dns"
	StepTCP       = "tcp"
	StepTLS       = "tls"
	StepAuth      = "auth"
	StepDatabase  = "database"
	StepExtension = "extension"
)

// StepError says which step of reaching the database failed.
type StepError struct {
	Step string
	What string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Step, e.What, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Check connects to the database of dsn as the daemon would, one step at
// a time, and names the step that failed: DNS, TCP, TLS, auth, database
// (or the unaccent extension search needs). On success it describes the
// server (check-config --connect).
func Check(ctx context.Context, dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", &StepError{StepDSN, "parse store.dsn", err}
	}
	host, port := cfg.Host, cfg.Port
	if !strings.HasPrefix(host, "/") {
		if net.ParseIP(host) == nil {
			if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
				return "", &StepError{StepDNS, "DNS lookup of " + host, err}
			}
		}
		addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return "", &StepError{StepTCP, "TCP connect to " + addr, err}
		}
		c.Close()
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", classify(cfg, err)
	}
	defer conn.Close(context.Background())
	var version string
	var unaccent bool
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent')`).Scan(&version, &unaccent); err != nil {
		return "", &StepError{StepDatabase, "query " + cfg.Database, err}
	}
	if !unaccent {
		return "", &StepError{StepExtension, "unaccent", errors.New("not available on the server; install postgresql-contrib (tickets search needs it)")}
	}
	var schema int
	conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&schema)
	tlsState := "without TLS"
	if pc := conn.PgConn().Conn(); pc != nil {
		if _, ok := pc.(*tls.Conn); ok {
			tlsState = "over TLS"
		}
	}
	state := fmt.Sprintf("schema version %d", schema)
	if schema == 0 {
		state = "empty (the first serve creates the schema)"
	}
	return fmt.Sprintf("PostgreSQL %s, database %s as %s %s, %s", version, cfg.Database, cfg.User, tlsState, state), nil
}

func classify(cfg *pgx.ConnConfig, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01" || pe.Code == "28000":
			return &StepError{StepAuth, "log in as " + cfg.User, err}
		case pe.Code == "3D000":
			return &StepError{StepDatabase, "open database " + cfg.Database, err}
		}
		return &StepError{StepDatabase, "connect to " + cfg.Database, err}
	}
	var rec tls.RecordHeaderError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce *tls.CertificateVerificationError
	msg := err.Error()
	if errors.As(err, &rec) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) ||
		strings.Contains(msg, "tls") || strings.Contains(msg, "TLS") || strings.Contains(msg, "x509") {
		return &StepError{StepTLS, "TLS with " + cfg.Host, err}
	}
	if strings.Contains(msg, "password") || strings.Contains(msg, "SASL") || strings.Contains(msg, "authentication") {
		return &StepError{StepAuth, "log in as " + cfg.User, err}
	}
	return &StepError{StepTCP, "connect to " + cfg.Host, err}
}
