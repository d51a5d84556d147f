package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// webOptions configure batosd's HTTP side: the inspector (/), its API
// (/api/), /metrics (Prometheus text format), /healthz (live), /readyz
// (model loaded) and, with Pprof, Go's /debug/pprof/.
type webOptions struct {
	Addr      string // "" disables it
	TokenFile string // required for a non-loopback Addr; created 0600 if missing
	Pprof     bool
	Events    *eventHub // the VM's cycle events; nil: a hub of no events
}

// errPublicWithoutToken refuses to serve a non-loopback address openly.
var errPublicWithoutToken = errors.New("batosd: -http on a non-loopback address needs -http-token FILE")

// newWeb builds the HTTP handler. Every client may read (the inspector's
// pages and API, /metrics, the health checks); a change (POST: sending a
// message) and pprof need a loopback client or the token (Authorization:
// Bearer TOKEN). Cross-origin POSTs are refused (net/http's
// CrossOriginProtection), and on a loopback address so is a Host header
// that is not a loopback name, so that a web page cannot reach the
// daemon through DNS rebinding.
func newWeb(o webOptions, h *handler, m *metrics) (http.Handler, error) {
	m.status.h = h
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("batosd: -http %q: %w", o.Addr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	var token string
	if o.TokenFile != "" {
		if token, err = loadToken(o.TokenFile); err != nil {
			return nil, err
		}
	} else if !loopback {
		return nil, errPublicWithoutToken
	}
	writable := func(r *http.Request) bool {
		return fromLoopback(r) || token != "" && hasToken(r, token)
	}
	hub := o.Events
	if hub == nil {
		hub = newEventHub()
	}
	mux := http.NewServeMux()
	(&inspector{h: h, hub: hub, writable: writable}).routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !h.vm.Status().Model {
			http.Error(w, "no model loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	csrf := http.NewCrossOriginProtection()
	guarded := csrf.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopback && !loopbackHost(r.Host) {
			http.Error(w, "batosd: this address serves only loopback host names", http.StatusMisdirectedRequest)
			return
		}
		needsWrite := r.Method != http.MethodGet && r.Method != http.MethodHead || strings.HasPrefix(r.URL.Path, "/debug/")
		if needsWrite && !writable(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="batosd"`)
			http.Error(w, "batosd: read-only: a change needs a loopback client or the daemon's token", http.StatusUnauthorized)
			return
		}
		guarded.ServeHTTP(w, r)
	}), nil
}

// loopbackHost reports whether a request's Host names the loopback
// interface (localhost or a loopback IP, with or without a port).
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

func hasToken(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// loadToken reads the token in path, writing a random one (0600) first
// when the file does not exist.
func loadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var raw [24]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", err
		}
		tok := hex.EncodeToString(raw[:])
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("batosd: -http-token: %w", err)
		}
		return tok, nil
	}
	if err != nil {
		return "", fmt.Errorf("batosd: -http-token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("batosd: -http-token %s: a token of at least 16 characters", path)
	}
	return tok, nil
}

// serveWeb serves handler on addr until ctx is done.
// onShutdown runs as the server starts shutting down (closing the
// inspector's event streams, which would otherwise hold it).
func serveWeb(ctx context.Context, log *slog.Logger, addr string, handler http.Handler, onShutdown func()) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("batosd: -http: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if onShutdown != nil {
		srv.RegisterOnShutdown(onShutdown)
	}
	log.Info("[HTTP] serving the inspector, /metrics, /healthz, /readyz", "addr", l.Addr().String(), "url", "http://"+l.Addr().String()+"/")
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// metrics are batosd's Prometheus metrics: what vm.Status and the store
// report, read at each scrape, and what the bridge and the cycles count
// as they happen.
type metrics struct {
	reg      *prometheus.Registry
	status   *statusCollector
	requests *prometheus.CounterVec
	reqTime  *prometheus.HistogramVec
	cycles   *prometheus.HistogramVec
	states   *prometheus.HistogramVec
	calls    *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	outputs  *prometheus.CounterVec
	callTime *prometheus.HistogramVec
	tokRate  *prometheus.HistogramVec
	commit   prometheus.Histogram
	commits  *prometheus.CounterVec
}

// newMetrics returns the metrics; set status.h once the handler exists.
func newMetrics() *metrics {
	m := &metrics{
		reg:    prometheus.NewRegistry(),
		status: &statusCollector{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batos_bridge_requests_total",
			Help: "Bridge requests answered, by command and reply code."}, []string{"command", "code"}),
		reqTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "batos_bridge_request_seconds",
			Help: "Time to answer a bridge request, by command.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"command"}),
		cycles: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "batos_cycle_seconds",
			Help: "Cognitive cycle durations, by outcome.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)}, []string{"outcome"}),
		states: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "batos_cycle_state_seconds",
			Help: "Time cycles spent in each state.", Buckets: prometheus.ExponentialBuckets(0.001, 3, 12)}, []string{"state"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batos_model_calls_total",
			Help: "Model calls made by cycles, by persona."}, []string{"persona"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batos_model_prompt_tokens_total",
			Help: "Prompt tokens sent to the model by cycles, by persona."}, []string{"persona"}),
		outputs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batos_model_output_tokens_total",
			Help: "Tokens the model generated for cycles, by persona."}, []string{"persona"}),
		callTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "batos_model_call_seconds",
			Help: "Time of a model call (prefill and decode), by persona.", Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)}, []string{"persona"}),
		tokRate: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "batos_model_tokens_per_second",
			Help: "Output tokens per second of a model call (over the whole call), by persona.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}, []string{"persona"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "batos_store_commit_seconds",
			Help: "Time to commit a write transaction (batch write and sync).", Buckets: prometheus.ExponentialBuckets(0.00005, 3, 12)}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batos_store_commits_total",
			Help: "Write transaction commits, by result (ok, conflict, error)."}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.reqTime, m.cycles, m.states, m.calls, m.tokens, m.outputs, m.callTime, m.tokRate, m.commit, m.commits,
		m.status, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// cycleEnded records a finished cycle (vm.Options.OnCycleEnd).
func (m *metrics) cycleEnded(rec vm.CycleRecord) {
	if !rec.Started.IsZero() && !rec.Ended.IsZero() {
		m.cycles.WithLabelValues(rec.Status).Observe(rec.Ended.Sub(rec.Started).Seconds())
	}
	for _, s := range rec.States {
		m.states.WithLabelValues(s.Name).Observe(s.Duration.Seconds())
	}
	for _, s := range rec.Steps {
		m.calls.WithLabelValues(s.Persona).Inc()
		m.tokens.WithLabelValues(s.Persona).Add(float64(s.PromptTokens))
		m.outputs.WithLabelValues(s.Persona).Add(float64(s.OutputTokens))
		if s.Duration > 0 && s.Error == "" {
			m.callTime.WithLabelValues(s.Persona).Observe(s.Duration.Seconds())
			m.tokRate.WithLabelValues(s.Persona).Observe(float64(s.OutputTokens) / s.Duration.Seconds())
		}
	}
}

// committed records a store commit (object.Options.OnCommit).
func (m *metrics) committed(took time.Duration, err error) {
	switch {
	case err == nil:
		m.commit.Observe(took.Seconds())
		m.commits.WithLabelValues("ok").Inc()
	case errors.Is(err, object.ErrConflict):
		m.commits.WithLabelValues("conflict").Inc()
	default:
		m.commits.WithLabelValues("error").Inc()
	}
}

// countedHandler counts the bridge's requests by command and reply code.
type countedHandler struct {
	h     bridge.Handler
	m     *metrics
	known map[string]bool
}

func newCountedHandler(h bridge.Handler, m *metrics) *countedHandler {
	c := &countedHandler{h: h, m: m, known: map[string]bool{}}
	for _, cmd := range wire.Commands() {
		c.known[cmd] = true
	}
	return c
}

func (c *countedHandler) Handle(ctx context.Context, req *wire.Request) *wire.Reply {
	start := time.Now()
	rep := c.h.Handle(ctx, req)
	cmd := req.Command
	if !c.known[cmd] {
		cmd = "unknown" // a client's string must not become a label
	}
	code := "ok"
	if rep.Status != wire.StatusOK {
		code = rep.Code
	}
	c.m.requests.WithLabelValues(cmd, code).Inc()
	c.m.reqTime.WithLabelValues(cmd).Observe(time.Since(start).Seconds())
	return rep
}

// statusCollector turns vm.Status and the store's counters into metrics
// at scrape time.
type statusCollector struct {
	h *handler // set once before serving, then only read
}

var (
	descCycles    = prometheus.NewDesc("batos_cycles_total", "Cognitive cycles ended since start, by outcome.", []string{"outcome"}, nil)
	descRunning   = prometheus.NewDesc("batos_cycles_running", "Cycles queued or running.", nil, nil)
	descQueue     = prometheus.NewDesc("batos_queue_depth", "Missions waiting for a worker.", nil, nil)
	descQueueCap  = prometheus.NewDesc("batos_queue_capacity", "The mission queue's capacity.", nil, nil)
	descObjects   = prometheus.NewDesc("batos_image_objects", "Objects in the living image.", nil, nil)
	descImage     = prometheus.NewDesc("batos_image_bytes", "Size of the image on disk.", nil, nil)
	descFree      = prometheus.NewDesc("batos_image_free_bytes", "Free space on the image's file system (-1: unknown).", nil, nil)
	descTierHits  = prometheus.NewDesc("batos_adapter_hits_total", "Adapter activations that found it in a tier.", []string{"tier"}, nil)
	descTierLoads = prometheus.NewDesc("batos_adapter_loads_total", "Adapter moves into a tier.", []string{"tier"}, nil)
	descTierEvict = prometheus.NewDesc("batos_adapter_evictions_total", "Adapter evictions from a tier.", []string{"tier"}, nil)
	descResident  = prometheus.NewDesc("batos_adapters", "Adapters in each tier now.", []string{"tier"}, nil)
	descMethods   = prometheus.NewDesc("batos_sandbox_calls_total", "Method calls the sandbox ran, by result (ok, failed, limit: stopped by a limit).", []string{"result"}, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCycles, descRunning, descQueue, descQueueCap, descObjects, descImage, descFree, descTierHits, descTierLoads, descTierEvict, descResident, descMethods} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	if c.h == nil {
		return // the daemon is still starting
	}
	st := c.h.vm.Status()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter(descCycles, st.CyclesDone, "complete")
	counter(descCycles, st.CyclesFailed, "failed")
	counter(descCycles, st.CyclesAborted, "aborted")
	gauge(descRunning, int64(st.Running))
	gauge(descQueue, int64(st.QueueDepth))
	gauge(descQueueCap, int64(st.QueueCapacity))
	gauge(descObjects, c.h.store.ObjectCount())
	if sp, err := c.h.store.Space(); err == nil {
		gauge(descImage, sp.Used)
		gauge(descFree, sp.Free)
	}
	a := st.Adapters
	counter(descTierHits, a.HotHits, "hot")
	counter(descTierHits, a.WarmHits, "warm")
	counter(descTierLoads, a.ColdLoads, "warm")
	counter(descTierLoads, a.HotLoads, "hot")
	counter(descTierEvict, a.HotEvictions, "hot")
	counter(descTierEvict, a.WarmEvictions, "warm")
	gauge(descResident, int64(len(a.Hot)), "hot")
	gauge(descResident, int64(len(a.Warm)), "warm")
	gauge(descResident, int64(len(a.Cold)), "cold")
	ms := st.Methods
	counter(descMethods, ms.Calls-ms.Failed, "ok")
	counter(descMethods, ms.Failed-ms.LimitHits, "failed")
	counter(descMethods, ms.LimitHits, "limit")
}
