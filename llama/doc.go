// Package llama runs GGUF Llama models, and BERT-family sentence
// embedding models beside them, through llama.cpp: the project's only cgo
// binding to it.
//
// # Types
//
//   - Model (Open): weights, vocabulary, metadata (Info), tokenization,
//     grammar checking, and the LoRA adapters loaded for it (LoadAdapter).
//   - Session (Model.NewSession): one llama.cpp context, that is one KV
//     cache. Generate runs a Request (Llama 3.1 chat messages or a raw
//     prompt; sampling; stop strings; a GBNF grammar or JSON schema; an
//     adapter; streaming through OnToken) and returns a Response with
//     Usage. Embed returns mean-pooled, L2-normalized embeddings.
//   - Embedder (OpenEmbedder): a non-causal sentence embedding model
//     (llama.cpp's bert, nomic-bert, jina-bert-v2: all-MiniLM-L6-v2,
//     nomic-embed-text, bge) with its own small context. Embed packs many
//     texts into each llama_decode, one sequence each, reads llama.cpp's
//     pooled vector per sequence (mean or CLS, from the file) and
//     L2-normalizes it; a file without a pooling type is mean-pooled in
//     Go. Its results match a float64 Go forward pass of the same weights
//     to about 1e-6 (TestEmbedderReference).
//   - Adapter: a resident, reference-counted LoRA adapter. Requests name
//     one (or none) each; switching loads no weights.
//   - Engine (NewEngine): a pool of sessions over one model for concurrent
//     callers, with adapter affinity.
//   - BatchSession (NewBatchSession): several sequences in one KV cache,
//     advanced together by GenerateBatch, one llama_decode per step for
//     all of them (no stop strings or streaming), under one adapter.
//     Engine.GenerateBatch (EngineOptions.BatchSequences) runs requests
//     that share an adapter on one: batosd gives it the facets of a plan
//     whose personas share an adapter (vm.BatchGenerator, batosd -batch),
//     and cmd/gpubench measures what batching gains on a GPU
//     (BENCHMARKS.md).
//     Session.DecodeBare is a bare decode loop, the yardstick for this
//     package's own per-token overhead.
//   - Grammars: Request.Grammar takes GBNF text (the module builds it
//     with package gbnf), SchemaToGrammar converts a JSON schema,
//     Model.CheckGrammar checks a grammar parses. The package samples
//     with its own sampler (sampler.cpp, on llama.cpp's sampler chain and
//     grammar): it checks only the token chosen against the grammar and
//     filters the candidates only when that token is refused, the 1,024
//     best first (llama.cpp's common sampler filters the whole vocabulary
//     every token, five times slower on a GPU with a 128k vocabulary). Its
//     filter reads the vocabulary decoded once per model and walks it as
//     a trie of code points, so the tokens that share a prefix are
//     checked together (3.4x the CPU's grammar-constrained tok/s against
//     llama.cpp's filter; exact, TestGrammarIndexAdmits). Text the grammar
//     forces (a JSON key, a method's header) is appended without sampling,
//     in the decode call of the token before it (jump-forward decoding;
//     Request.NoJumpForward turns it off, Usage.ForcedTokens counts it).
//   - Devices, LoadBackend: ggml devices and loading a GPU backend library
//     (libggml-cuda.so) by absolute path.
//
// # Concurrency
//
// Model, Adapter and Engine are safe for concurrent use. llama_decode runs
// in one session at a time across the process (see decodeSem in llctx.go:
// concurrent CPU decodes are correct on this llama.cpp but fight for the
// cores; concurrent GPU decodes crashed a whole-cycle run on an H200).
// A Session is not safe for concurrent use:
// one goroutine at a time may use it (or use an Engine). Close a model's
// sessions before the model; Model.Close reports ErrInUse otherwise.
// Every Generate starts from an empty KV cache, so results depend only on
// the request, the model and the adapter, and KV state computed under one
// adapter is never reused under another. The price is that a shared
// prompt prefix is evaluated again on every request.
//
// # Building
//
// The package builds on github.com/ollama/ollama@v0.17.4 (package llama,
// llama.cpp ec98e2002), which compiles llama.cpp and ggml through cgo. Its
// module zip lacks three headers: install Debian's nlohmann-json3-dev and
// libstb-dev, and put this package's stand-in for miniaudio.h on the
// include path (the Makefile does both):
//
//	CGO_CPPFLAGS="-I$PWD/llama/include -DGGML_USE_CPU_REPACK"
//	CGO_CFLAGS="-O3 -march=native -DNDEBUG" CGO_CXXFLAGS="-O3 -march=native -DNDEBUG"
//
// (add -mno-amx-tile -mno-amx-int8 -mno-amx-bf16 on CPUs with AMX;
// -DGGML_USE_CPU_REPACK, optional, turns on ggml's repacked CPU weight
// layouts, about 1.4x the CPU prefill, as llama.cpp's CMake build does): the
// default cgo build of ggml is SSE2-only and about ten times slower, and
// without -DNDEBUG llama.cpp's assertions are live. Set GGML_NO_BACKTRACE=1
// so a failed assertion does not attach a debugger. What ollama's wrapper
// lacks or leaks (adapter free/remove, context free, sampler free, grammar
// check, device listing, backend loading by path) is called through
// hand-written prototypes in cgo.go; sampler.cpp declares the part of
// llama.cpp's internal grammar API it uses (src/llama-grammar.h), which
// the link checks. The link wraps ggml_backend_free
// (-Wl,--wrap, free.c), so a binary that links this package needs GNU ld
// or a linker that understands the flag.
//
// # Caveats
//
//   - A llama.cpp assertion aborts the whole process. The package checks in
//     Go what it knows can trip one (token ids, quantized KV cache shapes,
//     grammar validity, and the GGUF header through gguf.Check before
//     every Open and LoadAdapter), not everything.
//   - llama.cpp silently ignores a GBNF grammar it cannot parse; Generate
//     checks the grammar first (CheckGrammar) and fails with ErrGrammar.
//   - llama.cpp's pooled embeddings abort on a causal model, so
//     Session.Embed asks for per-token embeddings and averages them in Go.
//     OpenEmbedder refuses a causal model. A non-causal model must see a
//     whole batch in one ubatch (llama.cpp asserts it), and ollama's
//     context parameters leave n_ubatch at 512, so an Embedder packs at
//     most 512 tokens per decode and truncates a text to MaxTokens.
//   - Open cannot be interrupted once llama.cpp starts reading, and leaks
//     len(path)+1 bytes per call (inside ollama's LoadModelFromFile).
//   - This llama.cpp reuses a context's compute graph across LoRA adapter
//     switches (it would answer with the previous adapter, or read a freed
//     one). The package sets LLAMA_GRAPH_REUSE_DISABLE=1 in the process
//     environment when it first initializes llama.cpp, before any context.
//   - llama_free frees a context's backends before its scheduler, whose
//     free (an ollama patch) then calls into them: a use-after-free that
//     crashed on CUDA. Session and BatchSession free their contexts
//     through free.c, which frees the backends after the scheduler.
//   - llama.cpp rounds a context's size up to a multiple of 256 tokens
//     (ContextSize reports the real size). A BatchSession's sequences
//     share one KV cache (kv_unified, set through the ollama seam in
//     ollama.go), as before llama.cpp gave each n_ctx/n_seq cells.
//   - ModelOptions.Mlock is refused (ErrUnsupported): ollama's model
//     parameters no longer carry use_mlock.
//   - llama.cpp's log lines go to slog.Default: INFO chatter at
//     slog.LevelDebug, warnings and errors at their level. The grammar
//     parser writes its errors straight to stderr.
package llama
