// Command batosd is the BAT OS daemon: it opens (or creates) the living
// image, loads the Llama model through llama.cpp, and serves the Synaptic
// Bridge (ZeroMQ ROUTER, msgpack) on tcp://127.0.0.1:5555.
//
// With no -model, it generates once a small random-weight demo model with
// the project's GGUF writer: the whole display_yourself protocol still runs,
// because plans and methods are grammar-constrained, but its prose is noise.
//
// Usage:
//
//	batosd [-config batosd.json] [-data DIR] [-endpoint tcp://127.0.0.1:5555]
//	       [-model model.gguf] [-adapters DIR] [-gpu-layers N] ...
//
// Every flag can also be set in the JSON config file under its own name
// (for example {"data": "/var/lib/batos", "gpu-layers": 33}); flags given
// on the command line win.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/batos/batos/vm/sandbox"
)

func main() {
	sandbox.Worker() // serve as a method sandbox worker when started as one
	cfg, err := parseConfig(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "batosd:", err)
		os.Exit(2)
	}
	logger, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "batosd:", err)
		os.Exit(2)
	}
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("batosd stopped", "err", err)
		os.Exit(1)
	}
}
