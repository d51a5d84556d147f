package vm_test

import (
	"io"
	"log/slog"
)

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func slogWith(h slog.Handler) *slog.Logger { return slog.New(h) }
