package httpx

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Run("nil dependencies get the clock, crypto/rand and a discarding logger", func(t *testing.T) {
		now, r, log := Defaults(nil, nil, nil)
		if now == nil || log == nil {
			t.Fatal("Defaults left a nil clock or logger")
		}
		if r != rand.Reader {
			t.Errorf("random source = %T, want crypto/rand.Reader", r)
		}
		if d := time.Since(now()); d < 0 || d > time.Minute {
			t.Errorf("default clock is %v away from time.Now", d)
		}
		if log.Enabled(t.Context(), slog.LevelError) {
			t.Error("default logger writes somewhere; want it discarding")
		}
	})
	t.Run("given dependencies are kept", func(t *testing.T) {
		fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		src := bytes.NewReader(nil)
		logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
		now, r, log := Defaults(func() time.Time { return fixed }, src, logger)
		if !now().Equal(fixed) || r != src || log != logger {
			t.Errorf("Defaults replaced given dependencies: now=%v reader kept=%v logger kept=%v", now(), r == src, log == logger)
		}
	})
}
