package llama

// SessionOptions configures NewSession. The zero value gives a 4096-token
// context (or the model's training length if shorter), 512-token batches,
// the model's thread count, no flash attention and an f16 KV cache.
type SessionOptions struct {
	ContextSize    int    // tokens of KV cache (llama.cpp rounds it up to a multiple of 256)
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

// NewSession creates a session on the model.
func (m *Model) NewSession(o SessionOptions) (*Session, error) {
	c, err := m.newContext(1, o)
	if err != nil {
		return nil, err
	}
	return &Session{c}, nil
}

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

// ContextSize returns the session's context window in tokens.
func (s *Session) ContextSize() int { return s.nctx }

// Close frees the session and drops its reference to the adapter in use.
// ErrClosed the second time.
func (s *Session) Close() error { return s.close() }

func (s *Session) check() error {
	if s.closed {
		return ErrClosed
	}
	return s.m.alive()
}
