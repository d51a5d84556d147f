package object

import (
	"log/slog"
	"os"
)

func tempDir() (string, error) { return os.MkdirTemp("", "object-example-") }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
