package llama

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// EngineOptions configures NewEngine.
type EngineOptions struct {
	// Sessions is how many requests can run at once (0: 1). Each session
	// holds its own KV cache.
	Sessions int
	// Session configures each session. Threads 0 gives each session all
	// of the model's threads: decoding is serialized across sessions
	// anyway (see Engine).
	Session SessionOptions
	// BatchSequences is the most requests GenerateBatch decodes together
	// in one BatchSession (created on first use, with Session's options
	// and BatchSequences times its context). 0 or 1: GenerateBatch runs
	// the requests one after another on the sessions.
	BatchSequences int
}

// Engine shares one model between goroutines through a pool of sessions.
// Generate and Embed are safe for concurrent use: each call borrows an idle
// session (waiting for one, or for ctx) and returns it afterwards. A call
// naming an adapter prefers an idle session that already has that adapter
// set, so with at least as many sessions as personas each persona keeps its
// own context (switching costs nothing) and otherwise a session switches
// adapters in place.
//
// llama_decode calls are serialized across the whole process (see
// decodeSem), so extra sessions overlap sampling, tokenization and
// callbacks with decoding, not decoding with decoding.
type Engine struct {
	m    *Model
	sem  chan struct{}
	mu   sync.Mutex
	idle []*Session
	all  []*Session

	closeOnce sync.Once
	closed    chan struct{}

	batchSeqs int
	batchOpts SessionOptions
	batchSem  chan struct{} // held while the batch session runs
	batch     *BatchSession // created by the first GenerateBatch
	batchErr  error         // why it could not be
}

// NewEngine creates an engine with its sessions on m.
func NewEngine(m *Model, o EngineOptions) (*Engine, error) {
	n := max(o.Sessions, 1)
	so := o.Session
	e := &Engine{m: m, sem: make(chan struct{}, n), closed: make(chan struct{}),
		batchSeqs: o.BatchSequences, batchOpts: o.Session, batchSem: make(chan struct{}, 1)}
	for range n {
		s, err := m.NewSession(so)
		if err != nil {
			e.closeSessions()
			return nil, err
		}
		e.all = append(e.all, s)
		e.idle = append(e.idle, s)
	}
	return e, nil
}

// Model returns the engine's model.
func (e *Engine) Model() *Model { return e.m }

// ContextSize returns the context size of the engine's sessions in tokens
// (llama.cpp may round the requested size up).
func (e *Engine) ContextSize() int { return e.all[0].ContextSize() }

// PromptTokens returns how many tokens req's prompt takes as Generate
// evaluates it: the chat format applied to Messages (or Prompt), special
// tokens and BOS included. Generate refuses a prompt of ContextSize tokens
// or more, and stops at the context's end.
func (e *Engine) PromptTokens(req Request) (int, error) {
	text, err := promptText(req)
	if err != nil {
		return 0, err
	}
	toks, err := e.m.Tokenize(text, true)
	return len(toks), err
}

// acquire borrows an idle session, preferring one whose adapter is a.
func (e *Engine) acquire(ctx context.Context, a *Adapter) (*Session, error) {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.closed:
		return nil, ErrClosed
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.closed:
		<-e.sem
		return nil, ErrClosed
	default:
	}
	best := len(e.idle) - 1
	for i, s := range e.idle {
		if s.adapter == a {
			best = i
			break
		}
	}
	s := e.idle[best]
	e.idle = append(e.idle[:best], e.idle[best+1:]...)
	return s, nil
}

func (e *Engine) release(s *Session) {
	e.mu.Lock()
	e.idle = append(e.idle, s)
	e.mu.Unlock()
	<-e.sem
}

// Generate runs req on an idle session (see Session.Generate).
func (e *Engine) Generate(ctx context.Context, req Request) (Response, error) {
	a := req.Adapter
	if a == nil && req.AdapterName != "" {
		a = e.m.Adapter(req.AdapterName)
	}
	s, err := e.acquire(ctx, a)
	if err != nil {
		return Response{}, err
	}
	defer e.release(s)
	return s.Generate(ctx, req)
}

// GenerateBatch runs reqs and returns their responses in order. Requests
// that can share a decode (the same adapter, no Stop strings or OnToken)
// run as sequences of the engine's BatchSession, BatchSequences at a time,
// one llama_decode per step for all of them (BatchSession.GenerateBatch);
// the others, or all of them when BatchSequences is below 2, run one
// after another on the sessions, as Generate runs them. On an error it
// returns the responses finished so far and the first error.
func (e *Engine) GenerateBatch(ctx context.Context, reqs []Request) ([]Response, error) {
	resps := make([]Response, len(reqs))
	if !e.batchable(reqs) {
		for i, req := range reqs {
			var err error
			if resps[i], err = e.Generate(ctx, req); err != nil {
				return resps, err
			}
		}
		return resps, nil
	}
	select {
	case e.batchSem <- struct{}{}:
	case <-ctx.Done():
		return resps, ctx.Err()
	case <-e.closed:
		return resps, ErrClosed
	}
	defer func() { <-e.batchSem }()
	select {
	case <-e.closed:
		return resps, ErrClosed
	default:
	}
	if e.batch == nil && e.batchErr == nil {
		o := e.batchOpts
		o.ContextSize = e.ContextSize() * e.batchSeqs
		e.batch, e.batchErr = e.m.NewBatchSession(e.batchSeqs, o)
	}
	if e.batchErr != nil {
		return resps, fmt.Errorf("batch session: %w", e.batchErr)
	}
	for i := 0; i < len(reqs); i += e.batchSeqs {
		j := min(i+e.batchSeqs, len(reqs))
		if j-i == 1 {
			// A lone request runs on a session, as Generate runs it
			// (with jump-forward decoding and stop strings).
			var err error
			if resps[i], err = e.Generate(ctx, reqs[i]); err != nil {
				return resps, err
			}
			continue
		}
		out, _, err := e.batch.GenerateBatch(ctx, reqs[i:j])
		copy(resps[i:j], out)
		if err != nil {
			return resps, err
		}
	}
	return resps, nil
}

// batchable reports whether reqs can run as one BatchSession's sequences.
func (e *Engine) batchable(reqs []Request) bool {
	if e.batchSeqs < 2 || len(reqs) < 2 {
		return false
	}
	adapter := func(r Request) *Adapter {
		if r.Adapter == nil && r.AdapterName != "" {
			return e.m.Adapter(r.AdapterName) // nil when unknown: GenerateBatch says so
		}
		return r.Adapter
	}
	a := adapter(reqs[0])
	for _, r := range reqs {
		if len(r.Stop) > 0 || r.OnToken != nil || adapter(r) != a {
			return false
		}
	}
	return true
}

// Embed embeds texts on an idle session (see Session.Embed).
func (e *Engine) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	s, err := e.acquire(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	return s.Embed(ctx, texts)
}

// Close waits for running calls to finish, then closes the sessions (not
// the model). ErrClosed the second time.
func (e *Engine) Close() error {
	err := ErrClosed
	e.closeOnce.Do(func() {
		close(e.closed)
		for range cap(e.sem) {
			e.sem <- struct{}{}
		}
		e.batchSem <- struct{}{}
		err = e.closeSessions()
		if e.batch != nil {
			if berr := e.batch.Close(); berr != nil {
				err = errors.Join(err, fmt.Errorf("batch session: %w", berr))
			}
			e.batch = nil
		}
	})
	return err
}

func (e *Engine) closeSessions() error {
	var errs []error
	for _, s := range e.all {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("session: %w", err))
		}
	}
	e.all, e.idle = nil, nil
	return errors.Join(errs...)
}

// LoadAdapter makes the LoRA adapter in the file at path resident under
// name, for requests that name it (Request.AdapterName). It is
// Model.LoadAdapter with the argument order of an adapter cache.
func (e *Engine) LoadAdapter(ctx context.Context, name, path string) error {
	_, err := e.m.LoadAdapter(ctx, path, AdapterOptions{Name: name})
	return err
}

// UnloadAdapter closes the resident adapter name: it is unregistered now
// and freed once no session uses it. An unknown name is ErrAdapterModel.
func (e *Engine) UnloadAdapter(ctx context.Context, name string) error {
	a := e.m.Adapter(name)
	if a == nil {
		return fmt.Errorf("%w: %q", ErrAdapterModel, name)
	}
	return a.Close()
}
