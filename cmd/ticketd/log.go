package main

import (
	"io"
	"log/slog"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/threading"
)

// newLogger logs as [server] log_format and log_level say: "text" is
// slog's key=value lines, "json" one JSON object per line. With level set,
// the level follows it (serve changes it on SIGHUP). Either way no line
// carries a reply token (threading.RedactingHandler).
func newLogger(w io.Writer, s config.Server, level *slog.LevelVar) *slog.Logger {
	if level == nil {
		level = new(slog.LevelVar)
	}
	level.Set(logLevel(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if s.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(threading.NewRedactingHandler(h))
}

// logLevel maps a validated log_level to slog's.
func logLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
