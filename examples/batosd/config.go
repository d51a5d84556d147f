package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/batos/batos/bridge"
)

// config is everything batosd can be told, by flag or config file.
type config struct {
	Data         string        `json:"data"`
	Endpoint     string        `json:"endpoint"`
	Model        string        `json:"model"`
	Adapters     string        `json:"adapters"`
	EmbedModel   string        `json:"embed-model"`
	GPULayers    int           `json:"gpu-layers"`
	CUDALib      string        `json:"cuda-lib"`
	Threads      int           `json:"threads"`
	ContextSize  int           `json:"ctx-size"`
	Sessions     int           `json:"sessions"`
	Batch        int           `json:"batch"`
	MaxTokens    int           `json:"max-tokens"`
	Workers      int           `json:"workers"`
	Queue        int           `json:"queue"`
	Heartbeat    time.Duration `json:"heartbeat"`
	CycleTimeout time.Duration `json:"cycle-timeout"`
	Drain        time.Duration `json:"drain"`
	CurveSecret  string        `json:"curve-secret"`
	CurveClients string        `json:"curve-clients"`
	LogLevel     string        `json:"log-level"`
	LogFormat    string        `json:"log-format"`
	// NoMethodGrammar and MethodAttempts configure how ALFRED writes
	// methods (vm.Options).
	NoMethodGrammar bool `json:"no-method-grammar"`
	MethodAttempts  int  `json:"method-attempts"`
	// Operating the image: cycle log retention and the disk reserve.
	KeepCycles    int           `json:"keep-cycles"`
	KeepCyclesFor time.Duration `json:"keep-cycles-for"`
	MinFreeMB     int64         `json:"min-free-mb"`
	WarnFreeMB    int64         `json:"warn-free-mb"`
	// HTTP: metrics and health.
	HTTP      string `json:"http"`
	HTTPToken string `json:"http-token"`
	Pprof     bool   `json:"pprof"`
	// Capabilities are the built-in tools granted to objects (config
	// file only; all off by default). See capsConfig.
	Capabilities capsConfig `json:"capabilities"`
}

func defaultConfig() config {
	return config{
		Data:         "batos-data",
		Endpoint:     bridge.DefaultEndpoint,
		Threads:      runtime.NumCPU(),
		Sessions:     1,
		Batch:        3,
		Workers:      1,
		Queue:        64,
		CycleTimeout: 10 * time.Minute,
		Drain:        10 * time.Second,
		LogLevel:     "info",
		LogFormat:    "text",
		MinFreeMB:    64,
		WarnFreeMB:   1024,
	}
}

// parseConfig reads the optional -config file, then the flags over it.
func parseConfig(args []string) (config, error) {
	cfg := defaultConfig()
	for i, a := range args {
		var path string
		switch {
		case (a == "-config" || a == "--config") && i+1 < len(args):
			path = args[i+1]
		case strings.HasPrefix(a, "-config="), strings.HasPrefix(a, "--config="):
			path = a[strings.Index(a, "=")+1:]
		default:
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		// Durations are strings ("30s") or numbers of seconds in the file.
		for _, k := range []string{"heartbeat", "cycle-timeout", "drain", "keep-cycles-for"} {
			switch x := raw[k].(type) {
			case string:
				d, err := time.ParseDuration(x)
				if err != nil {
					return cfg, fmt.Errorf("config %s: %s: %w", path, k, err)
				}
				raw[k] = int64(d)
			case float64:
				raw[k] = int64(x * float64(time.Second))
			}
		}
		norm, _ := json.Marshal(raw)
		dec := json.NewDecoder(strings.NewReader(string(norm)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	fs := flag.NewFlagSet("batosd", flag.ContinueOnError)
	fs.String("config", "", "JSON config file with the same keys as the flags")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory (the living image, model cache, demo model)")
	fs.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "ZeroMQ endpoint to bind")
	fs.StringVar(&cfg.Model, "model", cfg.Model, "Llama 3.1 GGUF model file (empty: a generated random-weight demo model)")
	fs.StringVar(&cfg.Adapters, "adapters", cfg.Adapters, "directory of persona LoRA adapters named <persona>.gguf")
	fs.StringVar(&cfg.EmbedModel, "embed-model", cfg.EmbedModel, "sentence embedding GGUF (BERT family, e.g. all-MiniLM-L6-v2) for the catalog (empty: the chat model's vectors, or a generated one with the demo model)")
	fs.IntVar(&cfg.GPULayers, "gpu-layers", cfg.GPULayers, "layers to offload to the GPU (-1: all)")
	fs.StringVar(&cfg.CUDALib, "cuda-lib", cfg.CUDALib, "absolute path of libggml-cuda.so to load (empty: $BATOS_GGML_BACKEND or CPU only)")
	fs.IntVar(&cfg.Threads, "threads", cfg.Threads, "CPU threads for llama.cpp")
	fs.IntVar(&cfg.ContextSize, "ctx-size", cfg.ContextSize, "context size in tokens of each llama.cpp session (0: 4096, or 8192 for the demo model, whose vocabulary spends a token per byte)")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "llama.cpp sessions: concurrent generations, and the VM's concurrent model calls (their decodes take turns)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "a plan's facets decoded together, one llama.cpp batch, when their personas share an adapter (0 or 1: one after another)")
	fs.IntVar(&cfg.MaxTokens, "max-tokens", cfg.MaxTokens, "cap on tokens per generation (0: the VM's own bounds)")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "cognitive cycles that run at once")
	fs.IntVar(&cfg.Queue, "queue", cfg.Queue, "missions that may wait for a worker")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", cfg.Heartbeat, "autotelic heartbeat interval (0: off)")
	fs.DurationVar(&cfg.CycleTimeout, "cycle-timeout", cfg.CycleTimeout, "bound on one cognitive cycle")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "how long shutdown waits for running cycles")
	fs.StringVar(&cfg.CurveSecret, "curve-secret", cfg.CurveSecret, "the server's .key file from batoskey (enables CurveZMQ)")
	fs.StringVar(&cfg.CurveClients, "curve-clients", cfg.CurveClients, "comma-separated .pub files of the admitted clients")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	fs.BoolVar(&cfg.NoMethodGrammar, "no-method-grammar", cfg.NoMethodGrammar, "let a strong model write methods without the method grammar (still cleaned, audited, trial-run and repaired)")
	fs.IntVar(&cfg.MethodAttempts, "method-attempts", cfg.MethodAttempts, "methods ALFRED may write per cycle before it fails (0: 3)")
	fs.IntVar(&cfg.KeepCycles, "keep-cycles", cfg.KeepCycles, "cycle log records kept, newest first (0: all)")
	fs.DurationVar(&cfg.KeepCyclesFor, "keep-cycles-for", cfg.KeepCyclesFor, "delete cycle log records older than this (0: never)")
	fs.Int64Var(&cfg.MinFreeMB, "min-free-mb", cfg.MinFreeMB, "free disk space the image keeps in reserve: writes beyond it are refused as unavailable (negative: no reserve)")
	fs.Int64Var(&cfg.WarnFreeMB, "warn-free-mb", cfg.WarnFreeMB, "log a warning when the image's file system has less free space than this")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "serve /metrics (Prometheus), /healthz and /readyz on this `ADDR` (empty: off); a non-loopback address needs -http-token")
	fs.StringVar(&cfg.HTTPToken, "http-token", cfg.HTTPToken, "`FILE` holding the bearer token non-loopback HTTP clients must present (written 0600 on first start)")
	fs.BoolVar(&cfg.Pprof, "pprof", cfg.Pprof, "also serve Go's /debug/pprof/ on -http")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if (cfg.CurveSecret == "") != (cfg.CurveClients == "") {
		return cfg, fmt.Errorf("-curve-secret and -curve-clients go together")
	}
	return cfg, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	var w io.Writer = os.Stderr
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
