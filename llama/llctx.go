package llama

import (
	"context"
	"fmt"
	"strings"

	ollama "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
)

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

// newContext creates a llama.cpp context on the model for seqs sequences
// sharing one KV cache, for NewSession (one sequence) and NewBatchSession.
// o's zero fields take their defaults; ContextSize's is 4096 tokens per
// sequence, capped at the model's training length.
func (m *Model) newContext(seqs int, o SessionOptions) (llctx, error) {
	if seqs < 1 {
		return llctx{}, fmt.Errorf("%w: %d sequences", ErrBadRequest, seqs)
	}
	kv := strings.ToLower(o.KVCacheType)
	switch kv {
	case "", "f16":
	case "q8_0", "q4_0":
		// llama.cpp asserts (aborting the process) when a head does not
		// fill whole quantization blocks, and refuses a quantized V cache
		// without flash attention.
		const block = 32
		if m.headK%block != 0 || m.headV%block != 0 {
			return llctx{}, fmt.Errorf("%w: KV cache type %s needs head sizes divisible by %d (model: %d, %d)",
				ErrBadRequest, kv, block, m.headK, m.headV)
		}
		if !o.FlashAttention {
			return llctx{}, fmt.Errorf("%w: KV cache type %s needs FlashAttention", ErrBadRequest, kv)
		}
	default:
		return llctx{}, fmt.Errorf("%w: KV cache type %q", ErrBadRequest, o.KVCacheType)
	}
	if o.ContextSize <= 0 {
		per := 4096
		if m.info.ContextLength > 0 {
			per = min(per, m.info.ContextLength)
		}
		o.ContextSize = per * seqs
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	// A joint decode step holds one token of every sequence.
	o.BatchSize = max(min(o.BatchSize, o.ContextSize), seqs)
	if o.Threads <= 0 {
		o.Threads = m.threads
	}
	if o.BatchThreads <= 0 {
		o.BatchThreads = o.Threads
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return llctx{}, ErrClosed
	}
	fa := ml.FlashAttentionDisabled
	if o.FlashAttention {
		fa = ml.FlashAttentionEnabled
	}
	// ollama passes BatchSize as n_ubatch and BatchSize*seqs as n_batch.
	params := ollama.NewContextParams(o.ContextSize, o.BatchSize, seqs, o.Threads, fa, kv)
	// One KV cache for all sequences, as before llama.cpp split it into
	// n_ctx/n_seq cells per sequence: a batch with one long prompt among
	// short ones fits as long as the prompts fit together.
	setKVUnified(&params)
	oc, err := ollama.NewContextWithModel(m.om, params)
	if err != nil {
		return llctx{}, fmt.Errorf("%w: %s", ErrContext, lastCError())
	}
	c := firstPtr(oc)
	// Prefill decodes at most BatchSize tokens per call (llama.cpp's
	// n_batch, BatchSize*seqs, is at least that).
	nbatch := min(cNBatch(c), o.BatchSize)
	batch, err := ollama.NewBatch(nbatch, 1, 0)
	if err != nil {
		cFree(c)
		return llctx{}, fmt.Errorf("%w: %w", ErrContext, err)
	}
	l := llctx{m: m, oc: oc, c: c, batch: batch, nctx: cNCtx(c), nbatch: nbatch, abort: newAbortFlag()}
	cSetEmbeddings(l.c, false) // ollama turns them on; only Embed needs them
	cSetThreads(l.c, o.Threads, o.BatchThreads)
	l.abort.install(l.c)
	m.sessions++
	return l, nil
}

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

// decodeSem serializes llama_decode across every context of the process.
// On the CPU each decode starts as many threads as there are cores, so two
// at once only fight for them. It used to be needed for correctness: the
// llama.cpp of ollama v0.6.5 handed out llamafile gemm work chunks from
// one static counter shared by every context; this llama.cpp keeps the
// counter in each computation's threadpool, and TestSessionsConcurrent
// checks concurrent CPU decodes without the lock. On a GPU, decoding in
// several contexts at once ran three sessions under three adapters 1.85x
// faster with the same tokens (gpubench, H200), but a whole-cycle run
// (BenchmarkCycles -cycles.sessions 3, a BatchSession beside the
// sessions) died of a CUDA illegal memory access, so every model keeps
// the lock until that is understood.
var decodeSem = make(chan struct{}, 1)

// lockDecode takes the model's decode lock (none where a test removed it)
// and returns its release.
func (m *Model) lockDecode(ctx context.Context) (func(), error) {
	sem := m.decodeLock
	if sem == nil {
		return func() {}, nil
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// decode runs the batch, mapping an abort to ctx's error.
func (s *llctx) decode(ctx context.Context) error {
	unlock, err := s.m.lockDecode(ctx)
	if err != nil {
		return err
	}
	err = s.oc.Decode(s.batch)
	unlock()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return nil
}

// prefill clears the KV cache and decodes tokens from position 0 of
// sequence 0 (see prefillSeq).
func (s *llctx) prefill(ctx context.Context, tokens []Token, all bool, chunk int, each func(first, n int)) error {
	cKVClear(s.c)
	return s.prefillSeq(ctx, tokens, 0, all, chunk, each)
}

// prefillSeq decodes tokens from position 0 of sequence seq in batches
// of at most chunk tokens (0: the context's batch size), asking for
// logits (or embeddings) of the last token only, or of every token with
// all set. each, if set, runs after every batch with the batch's first
// position and its token count. The last token's logits are at index
// s.batch.NumTokens()-1 until the next decode.
func (s *llctx) prefillSeq(ctx context.Context, tokens []Token, seq int, all bool, chunk int, each func(first, n int)) error {
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
			s.batch.Add(int(tokens[j]), nil, j, all || j == len(tokens)-1, seq)
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
