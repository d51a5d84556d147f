package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/catalog"
	"github.com/batos/batos/llama"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// version is reported by the status command.
const version = "0.1.0"

// run starts everything, serves until ctx is done, and shuts down in
// reverse order.
func run(ctx context.Context, cfg config, log *slog.Logger) (err error) {
	started := time.Now()
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return err
	}
	modelFile, adapterDir, embedFile := cfg.Model, cfg.Adapters, cfg.EmbedModel
	if modelFile == "" {
		modelFile, adapterDir, err = ensureDemoModel(cfg.Data, log)
		if err != nil {
			return fmt.Errorf("demo model: %w", err)
		}
		if embedFile == "" {
			if embedFile, err = demoEmbedModel(cfg.Data, log); err != nil {
				return fmt.Errorf("demo embedding model: %w", err)
			}
		}
		if cfg.ContextSize == 0 {
			cfg.ContextSize = demoContextSize
		}
	}
	if cfg.ContextSize == 0 {
		cfg.ContextSize = defaultContextSize
	}
	adapters, err := findAdapters(adapterDir)
	if err != nil {
		return err
	}

	log.Info("[UVM] Prototypal awakening: opening the living image", "dir", filepath.Join(cfg.Data, imageDir))
	m := newMetrics()
	events := newEventHub()
	store, err := object.Open(filepath.Join(cfg.Data, imageDir), object.Options{Retries: 8, Logger: log,
		MinFreeBytes: minFree(cfg.MinFreeMB), OnCommit: m.committed})
	if err != nil {
		return err
	}
	defer closeLogged(log, "store", store.Close)

	retriever := &catalogRetriever{}
	v, err := vm.Open(ctx, store, vm.Options{
		OnCycleEnd:   m.cycleEnded,
		OnCycleEvent: events.publish,
		Retriever:    retriever,
		Workers:      cfg.Workers,
		QueueSize:    cfg.Queue,
		// As many model calls at once as there are sessions: a plan's
		// facets under different adapters are asked at the same time
		// (their decodes take turns: see llama's decodeSem).
		ModelConcurrency: cfg.Sessions,
		Heartbeat:        cfg.Heartbeat,
		CycleTimeout:     cfg.CycleTimeout,
		Logger:           log,
		CacheDir:         filepath.Join(cfg.Data, "cache"),
		ModelFile:        modelFile,
		Adapters:         adapters,
		Progress:         progressLogger(log),

		NoMethodGrammar: cfg.NoMethodGrammar,
		MethodAttempts:  cfg.MethodAttempts,
		KeepCycles:      cfg.KeepCycles,
		KeepCyclesFor:   cfg.KeepCyclesFor,

		EmbedModelFile: embedFile,
	})
	if err != nil {
		return err
	}
	vmClosed := false
	defer func() {
		if !vmClosed {
			drainCtx, cancel := context.WithTimeout(context.Background(), cfg.Drain)
			defer cancel()
			closeLogged(log, "vm", func() error { return v.Close(drainCtx) })
		}
	}()

	granted, err := setupCapabilities(ctx, v, cfg.Capabilities, capabilityEnv{now: time.Now, catalog: retriever})
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	for _, g := range granted {
		log.Info("[UVM] capability granted", "grant", g)
	}

	path, err := v.MaterializeModel(ctx)
	if err != nil {
		return fmt.Errorf("materialize model: %w", err)
	}
	devices, err := loadBackend(cfg.CUDALib)
	if err != nil {
		return err
	}
	for _, d := range devices {
		log.Info("[pLLM] device", "name", d.Name, "type", d.Type.String(), "description", d.Description)
	}
	log.Info("[pLLM] loading the model from its blob cache", "file", path, "gpu_layers", cfg.GPULayers)
	model, err := llama.Open(ctx, path, llama.ModelOptions{GPULayers: cfg.GPULayers, Threads: cfg.Threads})
	if err != nil {
		return err
	}
	defer closeLogged(log, "model", model.Close)
	info := model.Info()
	device := placement(info)
	log.Info("[pLLM] model loaded", "description", info.Description, "layers", info.Layers, "params", info.Params, "placement", device)
	engine, err := llama.NewEngine(model, llama.EngineOptions{Sessions: cfg.Sessions, Session: llama.SessionOptions{ContextSize: cfg.ContextSize},
		BatchSequences: cfg.Batch})
	if err != nil {
		return err
	}
	defer closeLogged(log, "engine", engine.Close)
	lm := &engineModel{e: engine, maxTokens: cfg.MaxTokens, delay: testModelDelay()}
	v.SetModel(lm)

	ce, err := openCatalogEmbedder(ctx, v, cfg, log, lm, path, info)
	if err != nil {
		return err
	}
	defer closeLogged(log, "embedding model", ce.close)
	cat := catalog.New(ce.emb, catalog.Options{EmbedderID: ce.id})
	if err := cat.Load(ctx, store); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	retriever.c.Store(cat)

	srvOpts := bridge.Options{Endpoint: cfg.Endpoint, Workers: 4, Logger: log}
	if cfg.CurveSecret != "" {
		srvOpts.Curve, err = bridge.LoadCurveOptions(cfg.CurveSecret, strings.Split(cfg.CurveClients, ",")...)
		if err != nil {
			return err
		}
	}
	h := &handler{vm: v, store: store, catalog: cat, model: info.Description, device: device,
		layers: info.Layers, gpu: gpuLayers(info), started: started, version: version, embedder: ce.desc}
	var web http.Handler
	if cfg.HTTP != "" {
		if web, err = newWeb(webOptions{Addr: cfg.HTTP, TokenFile: cfg.HTTPToken, Pprof: cfg.Pprof, Events: events}, h, m); err != nil {
			return err
		}
	}
	srv, err := bridge.NewServer(newCountedHandler(h, m), srvOpts)
	if err != nil {
		return err
	}
	if err := v.Start(ctx); err != nil {
		srv.Close()
		return err
	}
	log.Info("[Synaptic Bridge] listening", "endpoint", srv.Endpoint(), "curve", srvOpts.Curve != nil)

	var wg sync.WaitGroup
	// The side services stop with the daemon, whichever way it stops.
	sideCtx, stopSide := context.WithCancel(ctx)
	defer stopSide()
	wg.Go(func() { watchDisk(sideCtx, log, store, cfg.WarnFreeMB<<20, time.Minute) })
	wg.Go(func() { reembed(sideCtx, log, cat, store) })
	if web != nil {
		wg.Go(func() {
			if err := serveWeb(sideCtx, log, cfg.HTTP, web, events.close); err != nil {
				log.Error("[HTTP] stopped", "err", err)
			}
		})
	}
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- srv.Serve(ctx) })
	select {
	case <-ctx.Done():
		log.Info("[UVM] shutdown requested: draining cycles", "deadline", cfg.Drain)
	case err = <-serveErr:
		log.Error("[Synaptic Bridge] stopped", "err", err)
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.Drain)
	defer cancel()
	vmClosed = true
	closeLogged(log, "vm", func() error { return v.Close(drainCtx) })
	closeLogged(log, "bridge", srv.Close)
	stopSide()
	wg.Wait()
	log.Info("[UVM] shutdown complete")
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func closeLogged(log *slog.Logger, what string, fn func() error) {
	if err := fn(); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("close", "what", what, "err", err)
	}
}

func loadBackend(path string) ([]llama.Device, error) {
	if path != "" {
		return llama.LoadBackend(path)
	}
	return llama.LoadBackendFromEnv()
}

func placement(info llama.Info) string {
	var parts []string
	for _, p := range info.Placement {
		parts = append(parts, fmt.Sprintf("%s:%d", p.Device, p.Layers))
	}
	if len(parts) == 0 {
		return "CPU"
	}
	return strings.Join(parts, ",") + " output:" + info.OutputDevice
}

// gpuLayers counts the repeating layers placed on devices other than the CPU.
func gpuLayers(info llama.Info) int {
	n := 0
	for _, p := range info.Placement {
		if !strings.HasPrefix(p.Device, "CPU") {
			n += p.Layers
		}
	}
	return n
}

// findAdapters maps persona names to the *.gguf files of dir.
func findAdapters(dir string) (map[string]string, error) {
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(files))
	for _, f := range files {
		out[strings.ToUpper(strings.TrimSuffix(filepath.Base(f), ".gguf"))] = f
	}
	return out, nil
}

// progressLogger reports imports and materializations every 10%.
func progressLogger(log *slog.Logger) func(name string, done, total int64) {
	var mu sync.Mutex
	last := map[string]int64{}
	return func(name string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		pct := int64(100)
		if total > 0 {
			pct = done * 100 / total
		}
		if step := pct / 10; step != last[name] || done == total {
			last[name] = step
			bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
			log.Info(fmt.Sprintf("[UVM] %s [%s] %3d%%", filepath.Base(name), bar, pct), "bytes", done, "total", total)
		}
	}
}

// testModelDelayEnv names the end-to-end tests' seam: a duration to wait
// before each generation, so a test can kill the daemon in the middle of
// a cycle. It is not a flag: operators have no use for it.
const testModelDelayEnv = "BATOSD_TEST_MODEL_DELAY"

func testModelDelay() time.Duration {
	d, _ := time.ParseDuration(os.Getenv(testModelDelayEnv))
	return d
}

// minFree is object.Options.MinFreeBytes for -min-free-mb (0 stays the
// store's default; negative disables the reserve).
func minFree(mb int64) int64 {
	if mb < 0 {
		return -1
	}
	return mb << 20
}

// watchDisk logs a warning, once per crossing, when the image's file
// system has less than warn bytes free, and a line when it recovers.
func watchDisk(ctx context.Context, log *slog.Logger, store *object.Store, warn int64, every time.Duration) {
	low := false
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		sp, err := store.Space()
		switch {
		case err != nil:
		case sp.Free >= 0 && sp.Free < warn && !low:
			low = true
			log.Warn("[Image] disk space is low", "free_mb", sp.Free>>20, "image_mb", sp.Used>>20, "warn_below_mb", warn>>20)
		case sp.Free >= warn && low:
			low = false
			log.Info("[Image] disk space recovered", "free_mb", sp.Free>>20)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// imageDir is the living image's directory under -data.
const imageDir = "image"
