package vm

import (
	"context"
	"time"

	"github.com/batos/batos/vm/tiers"
)

// Message is one turn of a chat-style prompt.
type Message struct {
	Role    string // "user" or "assistant"
	Content string
}

// Generation is one request to the model. The VM fills every field; a Model
// implementation uses what it supports.
type Generation struct {
	// Persona is the name of the persona speaking (BRICK, ROBIN, ALFRED, ...).
	Persona string
	// Adapter is the LoRA adapter to apply, "" for the base model. When the
	// Model also implements AdapterLoader, the VM has made the adapter hot
	// (LoadAdapter) before calling Generate and keeps it loaded until
	// Generate returns.
	Adapter string
	// System is the persona's system prompt.
	System string
	// Messages is the conversation; the last one is the request.
	Messages []Message
	// Grammar, when not empty, is a GBNF grammar (llama.cpp syntax, start
	// rule "root", one rule per line, bounded {m,n} repetitions, no
	// unbounded ones) the output must match; pass it to the sampler as is.
	// It takes precedence over JSONSchema. The VM passes PlanGrammar when
	// it asks BRICK for a plan and a methodspec.Spec grammar when it asks ALFRED for a
	// method; MaxTokens is then at least the longest string the grammar
	// admits (one token is at least one byte), so a constrained output is
	// never cut short. plan.Facet answers and ROBIN's text have no grammar.
	Grammar string
	// JSONSchema, when not empty, is a JSON schema the output must match
	// (PlanSchema for plans). A Model that can only use one of the two
	// should prefer Grammar; both describe the same language for plans.
	JSONSchema string
	// MaxTokens bounds the output length.
	MaxTokens int
	// Temperature is the sampling temperature.
	Temperature float32
	// Seed seeds sampling; the VM derives it from the cycle and the step.
	Seed int64
}

// Model generates text. It is the only thing the VM needs from a language
// model. Implementations must be safe for concurrent use when
// Options.ModelConcurrency is above 1; the VM never calls Generate more than
// ModelConcurrency times at once.
type Model interface {
	Generate(ctx context.Context, g Generation) (string, error)
}

// AdapterLoader is an optional upgrade of a Model that can hold LoRA
// adapters resident ("hot"). When the Model passed in Options implements
// it, the VM moves adapters between the memory tiers: cold (a blob in the
// store), warm (a file in Options.CacheDir) and hot (loaded by LoadAdapter),
// evicting the least recently used hot adapter with UnloadAdapter when
// Options.HotAdapters are resident. The VM serializes calls to LoadAdapter
// and UnloadAdapter and never unloads an adapter a running Generate uses.
type AdapterLoader = tiers.Loader

// Usage is what one model call cost, as the model measured it.
type Usage struct {
	PromptTokens int           // the prompt, chat format included
	OutputTokens int           // the tokens generated
	Prefill      time.Duration // evaluating the prompt
	Decode       time.Duration // from the first sampled token to the end
	// Sample is the part of Decode spent choosing tokens (sampler and
	// grammar); ForcedTokens the output tokens a grammar forced, appended
	// without sampling (jump-forward decoding).
	Sample       time.Duration
	ForcedTokens int
	// Batch is how many requests were decoded together, this one among
	// them (BatchGenerator; 0: alone).
	Batch int
}

// UsageReporter is an optional upgrade of a Model that reports what each
// call cost; the VM then calls GenerateUsage instead of Generate and puts
// the usage in the cycle's trace (Step), so that tokens per second are the
// model's own numbers.
type UsageReporter interface {
	GenerateUsage(ctx context.Context, g Generation) (string, Usage, error)
}

// BatchGenerator is an optional upgrade of a Model that decodes several
// requests together, one sequence each in one decode step for all (on a
// GPU n sequences cost little more than one). The VM calls it for the
// facets of a plan that share an adapter (or none): every Generation of a
// call names the same Adapter, which the VM has made hot, and the call
// takes one of Options.ModelConcurrency's slots. It returns the outputs
// and their usage in order; an error fails the whole call.
type BatchGenerator interface {
	GenerateBatch(ctx context.Context, gs []Generation) ([]string, []Usage, error)
}

// ModelFunc adapts a function to the Model interface.
type ModelFunc func(ctx context.Context, g Generation) (string, error)

// Generate calls f.
func (f ModelFunc) Generate(ctx context.Context, g Generation) (string, error) { return f(ctx, g) }

var _ Model = ModelFunc(nil)

// TokenCounter is an optional upgrade of a Model that tells the VM how
// large its context window is and how long a text is in its tokens. With
// it the VM assembles every prompt of a cycle within the window: the
// context size minus the request's output bound (MaxTokens) minus the
// tokens the chat format and system prompt take. A Model without it is
// budgeted with Options.ContextSize and one token per byte, an upper
// bound for the byte-level vocabularies llama.cpp models use.
type TokenCounter interface {
	// ContextSize is the context window in tokens: prompt and output
	// together (0: unknown, the VM then uses Options.ContextSize).
	ContextSize() int
	// CountTokens returns how many tokens text takes, without special
	// tokens; the VM sums it over the parts of a prompt.
	CountTokens(text string) int
	// PromptTokens returns how many tokens g's prompt takes as the model
	// evaluates it: chat format, system prompt and messages, special
	// tokens included. The VM checks every assembled prompt with it, so
	// PromptTokens(g) + g.MaxTokens never exceeds ContextSize.
	PromptTokens(g Generation) (int, error)
}

// byteCounter budgets a model that does not count its tokens: one token
// per byte (an upper bound for byte-level vocabularies) and a few tokens
// of chat format per message.
type byteCounter struct{ ctx int }

func (b byteCounter) ContextSize() int          { return b.ctx }
func (byteCounter) CountTokens(text string) int { return len(text) }
func (byteCounter) PromptTokens(g Generation) (int, error) {
	n := len(g.System) + 8
	for _, m := range g.Messages {
		n += len(m.Content) + 8
	}
	return n, nil
}

var _ TokenCounter = byteCounter{}

// counter returns the model's TokenCounter, or a byteCounter of
// Options.ContextSize when it has none or does not know its context.
func (v *VM) counter() TokenCounter {
	if tc, ok := v.currentModel().(TokenCounter); ok && tc.ContextSize() > 0 {
		return tc
	}
	return byteCounter{v.opts.ContextSize}
}
