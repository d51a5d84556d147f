package main

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/llama"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// engineModel adapts a llama.Engine to the VM's Model and AdapterLoader
// interfaces and to the catalog's Embedder.
type engineModel struct {
	e         *llama.Engine
	maxTokens int           // cap on any generation, 0 = the VM's own bound
	delay     time.Duration // testing aid: wait before each generation
	// noJumpForward samples text a grammar forces token by token
	// (llama.Request.NoJumpForward; for benchmarks).
	noJumpForward bool
}

var (
	_ vm.Model         = (*engineModel)(nil)
	_ vm.AdapterLoader = (*engineModel)(nil)
	_ vm.TokenCounter  = (*engineModel)(nil)

	_ vm.BatchGenerator = (*engineModel)(nil)
)

// ContextSize implements vm.TokenCounter.
func (m *engineModel) ContextSize() int { return m.e.ContextSize() }

// CountTokens implements vm.TokenCounter.
func (m *engineModel) CountTokens(text string) int {
	toks, err := m.e.Model().Tokenize(text, false)
	if err != nil {
		return len(text) // a closed model: one token per byte bounds it
	}
	return len(toks)
}

// PromptTokens implements vm.TokenCounter: the request as Generate
// formats it.
func (m *engineModel) PromptTokens(g vm.Generation) (int, error) {
	return m.e.PromptTokens(llama.Request{Messages: chatMessages(g)})
}

func chatMessages(g vm.Generation) []llama.Message {
	msgs := make([]llama.Message, 0, len(g.Messages)+1)
	if g.System != "" {
		msgs = append(msgs, llama.Message{Role: "system", Content: defuse(g.System)})
	}
	for _, msg := range g.Messages {
		msgs = append(msgs, llama.Message{Role: msg.Role, Content: defuse(msg.Content)})
	}
	return msgs
}

// defuse keeps text that quotes the chat format's special tokens (an
// object's slot value may hold "<|eot_id|>") from being refused by
// FormatChat or read as a turn boundary.
func defuse(s string) string { return strings.ReplaceAll(s, "<|", "< |") }

func (m *engineModel) Generate(ctx context.Context, g vm.Generation) (string, error) {
	text, _, err := m.generate(ctx, g)
	return text, err
}

func (m *engineModel) generate(ctx context.Context, g vm.Generation) (string, llama.Usage, error) {
	if err := m.wait(ctx); err != nil {
		return "", llama.Usage{}, err
	}
	resp, err := m.e.Generate(ctx, m.request(g))
	return resp.Text, resp.Usage, err
}

// wait is the testing aid's delay before a generation.
func (m *engineModel) wait(ctx context.Context) error {
	if m.delay <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(m.delay):
		return nil
	}
}

// request is g as a llama.Request.
func (m *engineModel) request(g vm.Generation) llama.Request {
	maxTokens := g.MaxTokens
	// A grammar's own bound is never cut short: truncated output would
	// fail the plan parse or the guardian.
	if m.maxTokens > 0 && g.Grammar == "" && g.JSONSchema == "" && (maxTokens <= 0 || maxTokens > m.maxTokens) {
		maxTokens = m.maxTokens
	}
	req := llama.Request{
		Messages:    chatMessages(g),
		MaxTokens:   maxTokens,
		Temperature: g.Temperature,
		Seed:        uint32(g.Seed),
		Grammar:     g.Grammar,
		AdapterName: g.Adapter,

		NoJumpForward: m.noJumpForward,
	}
	if req.Grammar == "" {
		req.JSONSchema = g.JSONSchema
	}
	return req
}

// vmUsage is llama.cpp's counts and timings as the VM records them.
func vmUsage(u llama.Usage) vm.Usage {
	return vm.Usage{PromptTokens: u.PromptTokens, OutputTokens: u.GeneratedTokens, Prefill: u.Prefill, Decode: u.Decode,
		Sample: u.Sample, ForcedTokens: u.ForcedTokens, Batch: u.Batch}
}

// GenerateBatch implements vm.BatchGenerator: the facets that share an
// adapter decode as sequences of the engine's batch session (-batch).
func (m *engineModel) GenerateBatch(ctx context.Context, gs []vm.Generation) ([]string, []vm.Usage, error) {
	if err := m.wait(ctx); err != nil {
		return nil, nil, err
	}
	reqs := make([]llama.Request, len(gs))
	for i, g := range gs {
		reqs[i] = m.request(g)
	}
	resps, err := m.e.GenerateBatch(ctx, reqs)
	if err != nil {
		return nil, nil, err
	}
	outs := make([]string, len(resps))
	us := make([]vm.Usage, len(resps))
	for i, r := range resps {
		outs[i], us[i] = r.Text, vmUsage(r.Usage)
	}
	return outs, us, nil
}

// GenerateUsage implements vm.UsageReporter with llama.cpp's counts and
// timings.
func (m *engineModel) GenerateUsage(ctx context.Context, g vm.Generation) (string, vm.Usage, error) {
	text, u, err := m.generate(ctx, g)
	return text, vmUsage(u), err
}

func (m *engineModel) LoadAdapter(ctx context.Context, name, path string) error {
	return m.e.LoadAdapter(ctx, name, path)
}

func (m *engineModel) UnloadAdapter(ctx context.Context, name string) error {
	return m.e.UnloadAdapter(ctx, name)
}

// Embed implements catalog.Embedder.
func (m *engineModel) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return m.e.Embed(ctx, texts)
}

// catalogRetriever feeds catalog passages into the cycle's prompts. The
// catalog needs the model's embeddings, which exist only after the VM has
// materialized the model, so it is set once ready; until then it retrieves
// nothing.
type catalogRetriever struct {
	c atomic.Pointer[catalog.Catalog]
}

var _ vm.Retriever = (*catalogRetriever)(nil)

func (r *catalogRetriever) Retrieve(ctx context.Context, tx *object.Tx, query string, limit int) ([]string, error) {
	c := r.c.Load()
	if c == nil {
		return nil, nil
	}
	res, err := c.Search(ctx, tx, catalog.Query{Text: query, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(res))
	for i, h := range res {
		out[i] = h.Text
	}
	return out, nil
}
