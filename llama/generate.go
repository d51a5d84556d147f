package llama

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// Request is one generation.
type Request struct {
	// Messages is a chat in the Llama 3.1 format (see FormatChat). If
	// empty, Prompt is used as raw text (a BOS token is added).
	Messages []Message
	Prompt   string

	// MaxTokens bounds the generated tokens (0: until end of generation
	// or a full context).
	MaxTokens int
	// Temperature 0 samples greedily.
	Temperature float32
	// TopP is the nucleus threshold (0 or 1: off).
	TopP float32
	// TopK keeps the K most likely tokens before the other samplers
	// (0: 40; greedy sampling uses 1).
	TopK int
	// Seed makes sampling reproducible: the same request, model, adapter,
	// seed and build give the same text (4294967295, llama.cpp's
	// LLAMA_DEFAULT_SEED, draws a random seed).
	Seed uint32
	// Stop ends generation at the first occurrence of any of these strings
	// (each valid UTF-8); the stop string is not part of the text.
	Stop []string

	// Grammar is a GBNF grammar (root rule "root") constraining the
	// output. JSONSchema, if set instead, is converted to one. An invalid
	// grammar or schema fails the request before any token is generated.
	Grammar    string
	JSONSchema string

	// NoJumpForward turns jump-forward decoding off: with a grammar,
	// text the grammar forces (a JSON key, a fixed method header) is then
	// sampled token by token instead of being appended in one decode
	// call. The text is the same grammar's; the tokens may be split
	// differently. For comparison and debugging.
	NoJumpForward bool

	// Adapter runs the request under a resident LoRA adapter of the model;
	// AdapterName names one instead (see AdapterOptions.Name). Neither:
	// the base model.
	Adapter     *Adapter
	AdapterName string

	// OnToken, if set, receives the text as it is generated, in order, in
	// pieces of whole UTF-8 characters; their concatenation is the
	// Response's Text. Text that may begin a stop string is held back
	// until it cannot. A non-nil error stops generation; Generate returns
	// it.
	OnToken func(text string) error
}

// promptText is the text Generate tokenizes for req: the chat format of
// its Messages, or its raw Prompt.
func promptText(req Request) (string, error) {
	if len(req.Messages) > 0 {
		return FormatChat(req.Messages)
	}
	return req.Prompt, nil
}

// FinishReason says why generation ended.
type FinishReason string

// Finish reasons.
const (
	FinishEOG       FinishReason = "eog"       // the model ended its turn (or the grammar completed)
	FinishStop      FinishReason = "stop"      // a stop string was generated
	FinishLength    FinishReason = "length"    // MaxTokens or the context size was reached
	FinishCancelled FinishReason = "cancelled" // ctx was done or OnToken failed
)

// Response is the result of Generate.
type Response struct {
	Text   string
	Tokens []Token // generated tokens, without the end-of-generation token
	Finish FinishReason
	Usage  Usage
}

// Usage reports the work and time a generation took.
type Usage struct {
	PromptTokens    int
	GeneratedTokens int
	// Prefill is the time to evaluate the prompt; Decode the time from the
	// first sampled token to the end.
	Prefill time.Duration
	Decode  time.Duration
	// Llama is the part of Decode spent inside llama.cpp's decode and
	// sampling calls; Decode - Llama is this package's own overhead.
	Llama time.Duration
	// AdapterSwitch is the time spent switching the session's adapter.
	AdapterSwitch time.Duration
	// ForcedTokens counts the generated tokens that jump-forward decoding
	// appended without sampling them (text the grammar allowed no choice
	// in); GrammarResampled the tokens sampled again because the token
	// first chosen broke the grammar (the grammar then filtered the
	// candidates, best first).
	ForcedTokens     int
	GrammarResampled int
	// Sample is the part of Decode spent choosing tokens: the sampler
	// chain, the grammar's checks and jump-forward's reading of the
	// grammar (the rest is mostly llama_decode).
	Sample time.Duration
	// Batch is how many sequences were decoded together, this one among
	// them (BatchSession.GenerateBatch); 0 for Generate.
	Batch int
}

// Generate runs one request on the session from an empty KV cache. When
// ctx is done it stops within one token (an in-flight llama_decode is
// aborted) and returns the text so far with ctx's error.
func (s *Session) Generate(ctx context.Context, req Request) (Response, error) {
	var resp Response
	if err := s.check(); err != nil {
		return resp, err
	}
	if err := ctx.Err(); err != nil {
		return resp, err
	}
	m := s.m
	if req.MaxTokens < 0 || req.TopP < 0 || req.TopP > 1 || req.Temperature < 0 || req.TopK < 0 {
		return resp, fmt.Errorf("%w: MaxTokens %d, TopP %g, Temperature %g, TopK %d",
			ErrBadRequest, req.MaxTokens, req.TopP, req.Temperature, req.TopK)
	}
	for _, stop := range req.Stop {
		if !utf8.ValidString(stop) {
			return resp, fmt.Errorf("%w: stop string %q is not valid UTF-8", ErrBadRequest, stop)
		}
	}
	// Prompt.
	text, err := promptText(req)
	if err != nil {
		return resp, err
	}
	if text == "" {
		return resp, ErrEmptyPrompt
	}
	prompt := m.tokenize(text, true)
	if len(prompt) >= s.nctx {
		return resp, fmt.Errorf("%w: %d tokens, context %d", ErrPromptTooLong, len(prompt), s.nctx)
	}
	resp.Usage.PromptTokens = len(prompt)
	// Grammar.
	grammar := req.Grammar
	if grammar == "" && req.JSONSchema != "" {
		var err error
		if grammar, err = SchemaToGrammar(req.JSONSchema); err != nil {
			return resp, err
		}
	}
	if grammar != "" {
		if err := m.CheckGrammar(grammar); err != nil {
			return resp, err
		}
	}
	// Adapter.
	a := req.Adapter
	if a == nil && req.AdapterName != "" {
		if a = m.Adapter(req.AdapterName); a == nil {
			return resp, fmt.Errorf("%w: %q", ErrAdapterModel, req.AdapterName)
		}
	}
	t0 := time.Now()
	if err := s.setAdapter(a); err != nil {
		return resp, err
	}
	resp.Usage.AdapterSwitch = time.Since(t0)

	sc, err := newSampler(m, req, grammar)
	if err != nil {
		return resp, err
	}
	defer sc.free()

	done := s.watch(ctx)
	defer done()

	// Text the grammar forces from its start (a method's fixed header)
	// is decoded with the prompt.
	var head []Token
	if !req.NoJumpForward && grammar != "" {
		head = sc.forced(m)
		room := s.nctx - len(prompt) - 1
		if req.MaxTokens > 0 {
			room = min(room, req.MaxTokens)
		}
		head = head[:max(0, min(len(head), room))]
		for _, f := range head {
			if err := sc.accept(f); err != nil {
				return resp, err
			}
		}
	}

	// Prefill.
	t0 = time.Now()
	if err := s.prefill(ctx, append(prompt[:len(prompt):len(prompt)], head...), false, 0, nil); err != nil {
		resp.Finish = FinishCancelled
		return resp, err
	}
	// llama_decode returns before a GPU has finished; wait, so Prefill is
	// the prompt's real cost and Decode does not inherit its tail.
	s.oc.Synchronize()
	resp.Usage.Prefill = time.Since(t0)

	// Decode.
	stream := textStream{stops: nonEmpty(req.Stop)}
	pos := len(prompt) + len(head)
	idx := s.batch.NumTokens() - 1
	var llamaTime, sampleTime time.Duration
	tDecode := time.Now()
	finish := func(r FinishReason, err error) (Response, error) {
		if rest := stream.flush(); rest != "" && req.OnToken != nil && err == nil {
			if cerr := req.OnToken(rest); cerr != nil {
				r, err = FinishCancelled, cerr
			}
		}
		resp.Text = stream.String()
		resp.Finish = r
		resp.Usage.GeneratedTokens = len(resp.Tokens)
		resp.Usage.Decode = time.Since(tDecode)
		resp.Usage.Llama = llamaTime
		resp.Usage.GrammarResampled = sc.resampled
		resp.Usage.Sample = sampleTime
		return resp, err
	}
	// emit appends tok to the output; done says generation ends there,
	// for reason r (a stop string, or OnToken's error).
	emit := func(tok Token) (done bool, r FinishReason, err error) {
		resp.Tokens = append(resp.Tokens, tok)
		out, stopped := stream.add(m.pieces[tok])
		if out != "" && req.OnToken != nil {
			if err := req.OnToken(out); err != nil {
				return true, FinishCancelled, err
			}
		}
		return stopped, FinishStop, nil
	}
	for _, f := range head {
		if done, r, err := emit(f); done {
			return finish(r, err)
		}
	}
	resp.Usage.ForcedTokens = len(head)
	for {
		if req.MaxTokens > 0 && len(resp.Tokens) >= req.MaxTokens || pos >= s.nctx {
			return finish(FinishLength, nil)
		}
		if err := ctx.Err(); err != nil {
			return finish(FinishCancelled, err)
		}
		// Wait for the decode first (on a GPU it runs asynchronously), so
		// that Sample measures choosing the token, not the decode.
		t := time.Now()
		s.oc.Synchronize()
		llamaTime += time.Since(t)
		t = time.Now()
		tok, err := sc.sample(s.c, idx)
		if err == nil && !m.isEOG(tok) {
			err = sc.accept(tok)
		}
		took := time.Since(t)
		llamaTime += took
		sampleTime += took
		if err != nil {
			return finish(FinishCancelled, err)
		}
		if m.isEOG(tok) {
			return finish(FinishEOG, nil)
		}
		if done, r, err := emit(tok); done {
			return finish(r, err)
		}
		if req.MaxTokens > 0 && len(resp.Tokens) >= req.MaxTokens {
			return finish(FinishLength, nil)
		}
		// Jump-forward: the tokens the grammar forces next go into the
		// same decode as the sampled one, and only the last of them needs
		// logits. A piece ending inside a UTF-8 character leaves the
		// grammar mid-character: no jump then.
		var jf []Token
		t = time.Now()
		if !req.NoJumpForward && utf8.Valid(m.pieces[tok]) {
			jf = sc.forced(m)
			room := min(s.nbatch, s.nctx-pos) - 1
			if req.MaxTokens > 0 {
				room = min(room, req.MaxTokens-len(resp.Tokens))
			}
			jf = jf[:max(0, min(len(jf), room))]
		}
		s.batch.Clear()
		s.batch.Add(int(tok), nil, pos, len(jf) == 0, 0)
		for i, f := range jf {
			if err := sc.accept(f); err != nil {
				return finish(FinishCancelled, err)
			}
			if done, r, err := emit(f); done {
				return finish(r, err)
			}
			pos++
			s.batch.Add(int(f), nil, pos, i == len(jf)-1, 0)
		}
		sampleTime += time.Since(t)
		resp.Usage.ForcedTokens += len(jf)
		idx = s.batch.NumTokens() - 1
		t = time.Now()
		err = s.decode(ctx)
		llamaTime += time.Since(t)
		if err != nil {
			r := FinishCancelled
			if ctx.Err() == nil {
				r = FinishLength
			}
			return finish(r, err)
		}
		pos++
	}
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// sampler owns a batos_sampler (sampler.cpp) and frees it
// deterministically.
type sampler struct {
	c         cSampler
	buf       []byte // forced text (jump-forward)
	resampled int    // samples the grammar refused at first
}

func newSampler(m *Model, req Request, grammar string) (*sampler, error) {
	topK, topP := req.TopK, req.TopP
	if topK == 0 {
		topK = 40
	}
	if topP == 0 {
		topP = 1
	}
	var ix cVocabIndex
	if grammar != "" && !grammarNoIndex {
		ix = m.vocabIndex()
	}
	c, reason := cSamplerNew(m.vocab, ix, grammar, topK, topP, req.Temperature, req.Seed)
	if c == nil {
		if reason == "" {
			reason = lastCError()
		}
		return nil, fmt.Errorf("%w: %s", ErrGrammar, reason)
	}
	cSamplerExhaustive(c, grammarExhaustive)
	return &sampler{c: c}, nil
}

// grammarExhaustive makes samplers filter the whole vocabulary when a
// token breaks the grammar (tests compare the two ways).
var grammarExhaustive bool

// grammarNoIndex makes samplers made afterwards filter through llama.cpp's
// grammar filter alone, without the vocabulary index (benchmarks).
var grammarNoIndex bool

func (s *sampler) free() {
	if s.c != nil {
		cSamplerFree(s.c)
		s.c = nil
	}
}

// sample returns the token sampled from output idx of the context's last
// decode.
func (s *sampler) sample(ctx cptr, idx int) (Token, error) {
	tok, resampled := cSamplerSample(s.c, ctx, idx)
	if tok < 0 {
		return tok, fmt.Errorf("%w: no logits at output %d", ErrDecode, idx)
	}
	if resampled {
		s.resampled++
	}
	return tok, nil
}

// accept advances the grammar and the sampler chain past tok.
func (s *sampler) accept(tok Token) error {
	if ok, reason := cSamplerAccept(s.c, tok); !ok {
		return fmt.Errorf("%w: token %d refused: %s", ErrGrammar, tok, reason)
	}
	return nil
}

// maxForced bounds the forced text read per step (bytes).
const maxForced = 256

// forced returns the tokens of the text the grammar forces next, for
// jump-forward decoding: the tokens of that text as the model's tokenizer
// splits it, all but the last (the last could join with what follows into
// a different token, so it is sampled as usual). Each is accepted by the
// grammar, since together they spell a prefix of the forced text; none
// is a special token, and they end on a whole UTF-8 character. nil when
// less than two tokens are forced.
func (s *sampler) forced(m *Model) []Token {
	if s.buf == nil {
		s.buf = make([]byte, maxForced)
	}
	text := cSamplerForced(s.c, s.buf)
	if len(text) < 2 {
		return nil
	}
	toks := m.tokenizeWith(text, false, false)
	if len(toks) < 2 {
		return nil
	}
	toks = toks[:len(toks)-1]
	off := 0
	for _, t := range toks {
		if t < 0 || int(t) >= len(m.pieces) {
			return nil
		}
		p := m.pieces[t]
		if len(p) == 0 || len(text)-off < len(p) || text[off:off+len(p)] != string(p) || m.isEOG(t) {
			return nil
		}
		off += len(p)
	}
	// End on a whole character, so the grammar is not left inside one.
	for len(toks) > 0 && !utf8.ValidString(text[:off]) {
		off -= len(m.pieces[toks[len(toks)-1]])
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return nil
	}
	return toks
}
