package llama

import (
	"context"
	"fmt"
	"runtime"
	"time"
	"unicode/utf8"

	ollama "github.com/ollama/ollama/llama"
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

	// Prefill.
	t0 = time.Now()
	if err := s.prefill(ctx, prompt, false, 0, nil); err != nil {
		resp.Finish = FinishCancelled
		return resp, err
	}
	// llama_decode returns before a GPU has finished; wait, so Prefill is
	// the prompt's real cost and Decode does not inherit its tail.
	s.oc.Synchronize()
	resp.Usage.Prefill = time.Since(t0)

	// Decode.
	stream := textStream{stops: nonEmpty(req.Stop)}
	pos := len(prompt)
	idx := s.batch.NumTokens() - 1
	var llamaTime time.Duration
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
		return resp, err
	}
	for {
		if req.MaxTokens > 0 && len(resp.Tokens) >= req.MaxTokens || pos >= s.nctx {
			return finish(FinishLength, nil)
		}
		if err := ctx.Err(); err != nil {
			return finish(FinishCancelled, err)
		}
		t := time.Now()
		tok := Token(sc.oc.Sample(s.oc, idx))
		sc.oc.Accept(int(tok), true)
		llamaTime += time.Since(t)
		if m.isEOG(tok) {
			return finish(FinishEOG, nil)
		}
		resp.Tokens = append(resp.Tokens, tok)
		out, stopped := stream.add(m.pieces[tok])
		if out != "" && req.OnToken != nil {
			if err := req.OnToken(out); err != nil {
				return finish(FinishCancelled, err)
			}
		}
		if stopped {
			return finish(FinishStop, nil)
		}
		if req.MaxTokens > 0 && len(resp.Tokens) >= req.MaxTokens {
			return finish(FinishLength, nil)
		}
		s.batch.Clear()
		s.batch.Add(int(tok), nil, pos, true, 0)
		t = time.Now()
		err := s.decode(ctx)
		llamaTime += time.Since(t)
		if err != nil {
			r := FinishCancelled
			if ctx.Err() == nil {
				r = FinishLength
			}
			return finish(r, err)
		}
		pos++
		idx = 0
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

// sampler owns an ollama common_sampler and frees it deterministically
// (ollama only sets a finalizer).
type sampler struct{ oc *ollama.SamplingContext }

func newSampler(m *Model, req Request, grammar string) (*sampler, error) {
	p := ollama.SamplingParams{
		TopK:          req.TopK,
		TopP:          req.TopP,
		TypicalP:      1,
		Temp:          req.Temperature,
		PenaltyRepeat: 1,
		Seed:          req.Seed,
		Grammar:       grammar,
	}
	if p.TopK == 0 {
		p.TopK = 40
	}
	if p.TopP == 0 {
		p.TopP = 1
	}
	if p.Temp == 0 {
		p.TopK = 1
	}
	oc, err := ollama.NewSamplingContext(m.om, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGrammar, err)
	}
	runtime.SetFinalizer(oc, nil)
	return &sampler{oc: oc}, nil
}

func (s *sampler) free() { cCommonSamplerFree(firstPtr(s.oc)) }
