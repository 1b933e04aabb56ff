package cache

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// maxLogMessage bounds the length of a Badger message or error text that the
// store passes on. Some Badger errors (an oversized key or value) embed a
// kilobyte-long hex dump.
const maxLogMessage = 512

// badgerLogger routes Badger's log lines to slog: Errorf to Error, Warningf to
// Warn, Infof and Debugf to Debug (Badger's INFO lines are routine chatter,
// four of them per write). Lines below min (Options.BadgerLogLevel) are
// dropped; the rest carry subsystem=badger, beside the store's own
// component.
type badgerLogger struct {
	log *slog.Logger
	min slog.Level
}

func (l badgerLogger) emit(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if level < l.min || !l.log.Enabled(ctx, level) {
		return
	}
	msg := truncateText(strings.TrimSpace(fmt.Sprintf(format, args...)))
	l.log.Log(ctx, level, msg, "subsystem", "badger")
}

// Errorf implements badger.Logger.
func (l badgerLogger) Errorf(format string, args ...any) { l.emit(slog.LevelError, format, args) }

// Warningf implements badger.Logger.
func (l badgerLogger) Warningf(format string, args ...any) { l.emit(slog.LevelWarn, format, args) }

// Infof implements badger.Logger.
func (l badgerLogger) Infof(format string, args ...any) { l.emit(slog.LevelDebug, format, args) }

// Debugf implements badger.Logger.
func (l badgerLogger) Debugf(format string, args ...any) { l.emit(slog.LevelDebug, format, args) }

// truncateText cuts s to at most maxLogMessage bytes (on a rune boundary),
// saying how much was left off.
func truncateText(s string) string {
	if len(s) <= maxLogMessage {
		return s
	}
	cut := maxLogMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… [%d bytes truncated]", s[:cut], len(s)-cut)
}

// shortError keeps a Badger error usable with errors.Is/As while bounding the
// length of its text.
type shortError struct {
	err error
}

func (e shortError) Error() string { return truncateText(e.err.Error()) }
func (e shortError) Unwrap() error { return e.err }

// short wraps err in a shortError if its text is long; nil stays nil.
func short(err error) error {
	if err == nil || len(err.Error()) <= maxLogMessage {
		return err
	}
	return shortError{err}
}
