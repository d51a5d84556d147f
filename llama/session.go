package llama

import (
	"context"
	"fmt"
	"strings"

	ollama "github.com/ollama/ollama/llama"
)

// SessionOptions configures NewSession. The zero value gives a 4096-token
// context (or the model's training length if shorter), 512-token batches,
// the model's thread count, no flash attention and an f16 KV cache.
type SessionOptions struct {
	ContextSize    int    // tokens of KV cache
	BatchSize      int    // tokens per llama_decode call during prefill
	Threads        int    // threads for single-token decode
	BatchThreads   int    // threads for prefill (0: Threads)
	FlashAttention bool   // use flash attention
	KVCacheType    string // "", "f16", "q8_0" or "q4_0" (quantized needs FlashAttention)
}

// Session is a llama.cpp context: a KV cache and the buffers to run the
// model on one sequence. A Session is not safe for concurrent use: one
// goroutine at a time calls Generate or Embed (an Engine pools sessions
// for concurrent callers). Close it to free its memory.
//
// Every Generate starts from an empty KV cache, so a result depends only
// on the request, the model and the adapter: no KV state computed under
// one adapter is ever reused under another.
type Session struct {
	llctx
}

// llctx is what every llama.cpp context of this package holds: the
// context, its batch, its abort flag and the adapter set on it.
type llctx struct {
	m      *Model
	oc     *ollama.Context
	c      cptr
	batch  *ollama.Batch
	nctx   int
	nbatch int
	abort  abortFlag

	adapter *Adapter // adapter currently set on the context
	closed  bool
}

// NewSession creates a session on the model.
func (m *Model) NewSession(o SessionOptions) (*Session, error) {
	switch strings.ToLower(o.KVCacheType) {
	case "", "f16", "q8_0", "q4_0":
	default:
		return nil, fmt.Errorf("%w: KV cache type %q", ErrBadRequest, o.KVCacheType)
	}
	if kv := strings.ToLower(o.KVCacheType); kv == "q8_0" || kv == "q4_0" {
		// llama.cpp asserts (aborting the process) when a head does not
		// fill whole quantization blocks, and refuses a quantized V cache
		// without flash attention.
		const block = 32
		if m.headK%block != 0 || m.headV%block != 0 {
			return nil, fmt.Errorf("%w: KV cache type %s needs head sizes divisible by %d (model: %d, %d)",
				ErrBadRequest, kv, block, m.headK, m.headV)
		}
		if !o.FlashAttention {
			return nil, fmt.Errorf("%w: KV cache type %s needs FlashAttention", ErrBadRequest, kv)
		}
	}
	if o.ContextSize <= 0 {
		o.ContextSize = 4096
		if m.info.ContextLength > 0 {
			o.ContextSize = min(o.ContextSize, m.info.ContextLength)
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	o.BatchSize = min(o.BatchSize, o.ContextSize)
	if o.Threads <= 0 {
		o.Threads = m.threads
	}
	if o.BatchThreads <= 0 {
		o.BatchThreads = o.Threads
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	params := ollama.NewContextParams(o.ContextSize, o.BatchSize, 1, o.Threads, o.FlashAttention, strings.ToLower(o.KVCacheType))
	oc, err := ollama.NewContextWithModel(m.om, params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrContext, lastCError())
	}
	c := firstPtr(oc)
	// llama.cpp may round the batch size up; size our batch to match.
	nbatch := cNBatch(c)
	batch, err := ollama.NewBatch(nbatch, 1, 0)
	if err != nil {
		cFree(c)
		return nil, fmt.Errorf("%w: %w", ErrContext, err)
	}
	s := &Session{llctx{m: m, oc: oc, c: c, batch: batch, nctx: cNCtx(c), nbatch: nbatch, abort: newAbortFlag()}}
	cSetEmbeddings(s.c, false) // ollama turns them on; only Embed needs them
	cSetThreads(s.c, o.Threads, o.BatchThreads)
	s.abort.install(s.c)
	m.sessions++
	return s, nil
}

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

// ContextSize returns the session's context window in tokens.
func (s *Session) ContextSize() int { return s.nctx }

// Close frees the session and drops its reference to the adapter in use.
// ErrClosed the second time.
func (s *Session) Close() error { return s.close() }

func (s *llctx) close() error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if s.adapter != nil {
		s.adapter.release()
		s.adapter = nil
	}
	s.batch.Free()
	cFree(s.c)
	s.abort.free()
	s.c = nil
	s.m.mu.Lock()
	s.m.sessions--
	s.m.mu.Unlock()
	return nil
}

// setAdapter makes a (nil: none) the context's only adapter. Setting the
// one already in place costs nothing; switching is a pointer swap inside
// llama.cpp (no weights are loaded).
func (s *llctx) setAdapter(a *Adapter) error {
	if a == s.adapter {
		if a != nil && a.isClosed() {
			return fmt.Errorf("adapter %q: %w", a.name, ErrClosed)
		}
		return nil
	}
	if a != nil {
		if err := a.acquire(s.m); err != nil {
			return err
		}
	}
	if s.adapter != nil {
		cClearLora(s.c)
		s.adapter.release()
		s.adapter = nil
	}
	if a != nil {
		if rc := cSetLora(s.c, a.c, a.scale); rc != 0 {
			a.release()
			return fmt.Errorf("%w: set adapter %q: code %d", ErrBadAdapter, a.name, rc)
		}
		s.adapter = a
	}
	return nil
}

// watch arranges for ctx's cancellation to abort a running llama_decode.
// The returned func must be called before the session is used again.
func (s *llctx) watch(ctx context.Context) func() {
	s.abort.set(false)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.abort.set(true)
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}

// decodeSem serializes llama_decode across every session of the process.
// ggml's CPU matrix multiplication (llamafile's tinyBLAS gemm, compiled in
// by ollama with GGML_USE_LLAMAFILE) hands out work chunks from a
// function-level static atomic counter, so two contexts decoding at the
// same time steal each other's chunks and compute wrong results (measured:
// a few percent of concurrent generations on the tiny test model came out
// different). Sampling and everything else still run in parallel.
var decodeSem = make(chan struct{}, 1)

// decode runs the batch, mapping an abort to ctx's error.
func (s *Session) decode(ctx context.Context) error {
	select {
	case decodeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := s.oc.Decode(s.batch)
	<-decodeSem
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return nil
}

// prefill clears the KV cache and decodes tokens from position 0 in
// batches of at most chunk tokens (0: the session's batch size), asking
// for logits (or embeddings) of the last token only, or of every token
// with all set. each, if set, runs after every batch with the batch's
// first position and its token count.
func (s *Session) prefill(ctx context.Context, tokens []Token, all bool, chunk int, each func(first, n int)) error {
	cKVClear(s.c)
	if chunk <= 0 || chunk > s.nbatch {
		chunk = s.nbatch
	}
	for i := 0; i < len(tokens); i += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.batch.Clear()
		end := min(i+chunk, len(tokens))
		for j := i; j < end; j++ {
			s.batch.Add(int(tokens[j]), nil, j, all || j == len(tokens)-1, 0)
		}
		if err := s.decode(ctx); err != nil {
			return err
		}
		if each != nil {
			each(i, end-i)
		}
	}
	return nil
}

func (s *Session) check() error {
	if s.closed {
		return ErrClosed
	}
	return s.m.alive()
}
