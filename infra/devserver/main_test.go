package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        slog.Level
		wantErr     bool
	}{
		{"debug is accepted", "debug", slog.LevelDebug, false},
		{"info is accepted", "info", slog.LevelInfo, false},
		{"warn is accepted", "warn", slog.LevelWarn, false},
		{"error is accepted", "error", slog.LevelError, false},
		{"upper case is accepted", "DEBUG", slog.LevelDebug, false},
		{"a typo is refused", "verbose", 0, true},
		{"slog's offset form is refused", "info+2", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := logLevel(tc.value)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("logLevel(%q) = %v, %v", tc.value, got, err)
			}
		})
	}
	t.Run("the server refuses to start with a wrong LOG_LEVEL, naming the values", func(t *testing.T) {
		getenv := func(k string) string {
			return map[string]string{"LOG_LEVEL": "verbose", "ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir()}[k]
		}
		err := run(context.Background(), getenv)
		if err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
			t.Fatalf("run: %v", err)
		}
	})
}

func TestStartupLineNamesTheDataDirOnlyWhereItIsUsed(t *testing.T) {
	memory := listening("memory", "http://x", "127.0.0.1:1", "", ".dev")
	aws := listening("aws", "http://x", "127.0.0.1:1", "", ".dev")
	if diff := cmp.Diff([]any{"issuer", "http://x", "addr", "127.0.0.1:1", "store", "memory", "seed", seed.DefaultName, "data_dir", ".dev"}, memory); diff != "" {
		t.Errorf("memory mode (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"issuer", "http://x", "addr", "127.0.0.1:1", "store", "aws", "seed", seed.DefaultName}, aws); diff != "" {
		t.Errorf("AWS mode (-want +got):\n%s", diff)
	}
}
