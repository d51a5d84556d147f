package llama

// This is the package's only file with import "C". It declares, by hand,
// the few llama.cpp and ggml entry points that ollama's Go wrapper lacks or
// gets wrong, and includes the package's own C API (sampler.h). The prototypes pass only opaque pointers and scalars; no
// llama.cpp or ggml header is included or copied. The symbols themselves
// are compiled and linked by github.com/ollama/ollama/llama.

/*
#cgo LDFLAGS: -Wl,--wrap=ggml_backend_free
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "sampler.h"

// llama.h
void     llama_backend_init(void);
void     llama_log_set(void *cb, void *user_data);
void     llama_model_free(void *model);
void     llama_free(void *ctx);
int      batos_llama_free(void *ctx); // free.c
void    *llama_model_get_vocab(void *model);
int32_t  llama_model_n_ctx_train(void *model);
int32_t  llama_model_n_embd(void *model);
int32_t  llama_model_n_layer(void *model);
int32_t  llama_model_n_head(void *model);
uint64_t llama_model_size(void *model);
uint64_t llama_model_n_params(void *model);
int32_t  llama_model_meta_val_str(void *model, const char *key, char *buf, size_t buf_size);
int32_t  llama_model_desc(void *model, char *buf, size_t buf_size);
int32_t  llama_vocab_n_tokens(void *vocab);
bool     llama_vocab_is_eog(void *vocab, int32_t token);
int32_t  llama_vocab_bos(void *vocab);
int32_t  llama_vocab_eos(void *vocab);
int32_t  llama_tokenize(void *vocab, const char *text, int32_t text_len, int32_t *tokens, int32_t n_tokens_max, bool add_special, bool parse_special);
int32_t  llama_token_to_piece(void *vocab, int32_t token, char *buf, int32_t length, int32_t lstrip, bool special);
uint32_t llama_n_ctx(void *ctx);
uint32_t llama_n_batch(void *ctx);
void     llama_set_embeddings(void *ctx, bool embeddings);
void     llama_set_n_threads(void *ctx, int32_t n_threads, int32_t n_threads_batch);
void     llama_set_abort_callback(void *ctx, void *cb, void *data);
void    *llama_get_memory(void *ctx);
bool     llama_memory_seq_rm(void *mem, int32_t seq_id, int32_t p0, int32_t p1);
float   *llama_get_embeddings_ith(void *ctx, int32_t i);
float   *llama_get_embeddings_seq(void *ctx, int32_t seq_id);
int      llama_pooling_type(void *ctx); // enum llama_pooling_type
void    *llama_adapter_lora_init(void *model, const char *path);
void     llama_adapter_lora_free(void *adapter);
int32_t  llama_set_adapter_lora(void *ctx, void *adapter, float scale);
int32_t  llama_rm_adapter_lora(void *ctx, void *adapter);
void     llama_clear_adapter_lora(void *ctx);
void     llama_sampler_free(void *smpl);

// ggml.h, ggml-backend.h
void     ggml_log_set(void *cb, void *user_data);
void    *ggml_backend_load(const char *path);
size_t   ggml_backend_dev_count(void);
void    *ggml_backend_dev_get(size_t index);
const char *ggml_backend_dev_name(void *dev);
const char *ggml_backend_dev_description(void *dev);
void     ggml_backend_dev_memory(void *dev, size_t *free, size_t *total);
int      ggml_backend_dev_type(void *dev);
void    *ggml_backend_dev_backend_reg(void *dev);
const char *ggml_backend_reg_name(void *reg);

// llama.cpp (since about 2025-07) reuses a context's previous compute
// graph when the next batch has the same shape, without checking whether
// the LoRA adapters set on the context changed: after a switch it keeps
// computing with the previous adapter's tensors (a persona answered with
// another's adapter), and after that adapter is freed it reads freed
// memory (SIGSEGV). Each context reads the variable when it is created.
static void batos_no_graph_reuse(void) { setenv("LLAMA_GRAPH_REUSE_DISABLE", "1", 1); }

// Go callbacks (log.go exports batosLog).
extern void batosLog(int level, char *text, void *user_data);

static void batos_set_logs(void) {
	llama_log_set((void *)batosLog, NULL);
	ggml_log_set((void *)batosLog, NULL);
}

// The abort flag lives in C memory so llama.cpp's worker threads can poll it
// without calling into Go.
static bool batos_abort_cb(void *data) {
	return __atomic_load_n((int32_t *)data, __ATOMIC_RELAXED) != 0;
}

static void batos_set_abort(void *ctx, int32_t *flag) {
	llama_set_abort_callback(ctx, (void *)batos_abort_cb, flag);
}

static void batos_store_flag(int32_t *flag, int32_t v) {
	__atomic_store_n(flag, v, __ATOMIC_RELAXED);
}
*/
import "C"

import "unsafe"

// cptr is an opaque C pointer (llama_model*, llama_context*, ...).
type cptr = unsafe.Pointer

//export batosLog
func batosLog(level C.int, text *C.char, _ unsafe.Pointer) {
	logC(int(level), C.GoString(text))
}

func cInit() {
	C.batos_no_graph_reuse()
	C.batos_set_logs()
	C.llama_backend_init()
}

func cModelFree(m cptr)        { C.llama_model_free(m) }
func cFree(ctx cptr)           { cFreeN(ctx) }
func cModelVocab(m cptr) cptr  { return C.llama_model_get_vocab(m) }
func cNCtxTrain(m cptr) int    { return int(C.llama_model_n_ctx_train(m)) }
func cNEmbd(m cptr) int        { return int(C.llama_model_n_embd(m)) }
func cNLayer(m cptr) int       { return int(C.llama_model_n_layer(m)) }
func cNHead(m cptr) int        { return int(C.llama_model_n_head(m)) }
func cModelSize(m cptr) uint64 { return uint64(C.llama_model_size(m)) }
func cNParams(m cptr) uint64   { return uint64(C.llama_model_n_params(m)) }
func cNVocab(v cptr) int       { return int(C.llama_vocab_n_tokens(v)) }
func cIsEOG(v cptr, t Token) bool {
	return bool(C.llama_vocab_is_eog(v, C.int32_t(t)))
}
func cBOS(v cptr) Token { return Token(C.llama_vocab_bos(v)) }
func cEOS(v cptr) Token { return Token(C.llama_vocab_eos(v)) }

// cFreeN frees a context (free.c) and returns how many backends were
// freed after its scheduler rather than before it.
func cFreeN(ctx cptr) int { return int(C.batos_llama_free(ctx)) }

// cMeta returns a metadata value of the model as a string, or "", false.
func cMeta(m cptr, key string) (string, bool) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	buf := make([]byte, 256)
	for {
		n := int(C.llama_model_meta_val_str(m, ck, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))))
		if n < 0 {
			return "", false
		}
		if n < len(buf) {
			return string(buf[:n]), true
		}
		buf = make([]byte, n+1)
	}
}

func cDesc(m cptr) string {
	buf := make([]byte, 256)
	n := int(C.llama_model_desc(m, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))))
	if n < 0 {
		return ""
	}
	return string(buf[:min(n, len(buf)-1)])
}

// cTokenize tokenizes text into out, returning the count, or -needed when
// out is too small.
func cTokenize(v cptr, text []byte, out []Token, addSpecial, parseSpecial bool) int {
	var tp *C.char
	if len(text) > 0 {
		tp = (*C.char)(unsafe.Pointer(&text[0]))
	}
	var op *C.int32_t
	if len(out) > 0 {
		op = (*C.int32_t)(unsafe.Pointer(&out[0]))
	}
	return int(C.llama_tokenize(v, tp, C.int32_t(len(text)), op, C.int32_t(len(out)), C.bool(addSpecial), C.bool(parseSpecial)))
}

// cPiece writes the bytes of token t into buf, returning the count, or
// -needed when buf is too small.
func cPiece(v cptr, t Token, buf []byte, special bool) int {
	return int(C.llama_token_to_piece(v, C.int32_t(t), (*C.char)(unsafe.Pointer(&buf[0])), C.int32_t(len(buf)), 0, C.bool(special)))
}

func cNCtx(ctx cptr) int   { return int(C.llama_n_ctx(ctx)) }
func cNBatch(ctx cptr) int { return int(C.llama_n_batch(ctx)) }
func cSetEmbeddings(ctx cptr, on bool) {
	C.llama_set_embeddings(ctx, C.bool(on))
}
func cSetThreads(ctx cptr, n, nBatch int) {
	C.llama_set_n_threads(ctx, C.int32_t(n), C.int32_t(nBatch))
}

// cKVClear forgets every cell of the KV cache without clearing its memory
// (llama_memory_clear with data set memsets the whole buffer).
func cKVClear(ctx cptr) { C.llama_memory_seq_rm(C.llama_get_memory(ctx), -1, -1, -1) }

// cEmbeddingsIth returns a view of the embedding of output i, or nil.
func cEmbeddingsIth(ctx cptr, i, n int) []float32 {
	p := C.llama_get_embeddings_ith(ctx, C.int32_t(i))
	if p == nil {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(p)), n)
}

// cEmbeddingsSeq returns a view of the pooled embedding of sequence seq
// after a decode on a context with pooling, or nil.
func cEmbeddingsSeq(ctx cptr, seq, n int) []float32 {
	p := C.llama_get_embeddings_seq(ctx, C.int32_t(seq))
	if p == nil {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(p)), n)
}

// cPoolingType returns the context's pooling type (llama_pooling_type:
// 0 none, 1 mean, 2 CLS, 3 last, 4 rank).
func cPoolingType(ctx cptr) int { return int(C.llama_pooling_type(ctx)) }

func cLoraInit(m cptr, path string) cptr {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return C.llama_adapter_lora_init(m, cp)
}
func cLoraFree(a cptr) { C.llama_adapter_lora_free(a) }
func cSetLora(ctx, a cptr, scale float32) int {
	return int(C.llama_set_adapter_lora(ctx, a, C.float(scale)))
}
func cClearLora(ctx cptr) { C.llama_clear_adapter_lora(ctx) }

// cGrammarCheck reports whether the GBNF text (root rule "root") parses
// for vocab; the reason, where llama.cpp gives one, is in the error log
// (lastCError) or in the returned text.
func cGrammarCheck(vocab cptr, grammar string) (bool, string) {
	cg := C.CString(grammar)
	defer C.free(unsafe.Pointer(cg))
	var buf [256]C.char
	if C.batos_grammar_check(vocab, cg, &buf[0], C.int32_t(len(buf))) == 0 {
		return true, ""
	}
	return false, C.GoString(&buf[0])
}

// cVocabIndex is a batos_vocab_index (sampler.cpp): the vocabulary decoded
// once for the grammar filter of a model's samplers.
type cVocabIndex = *C.batos_vocab_index

func cVocabIndexNew(vocab cptr) cVocabIndex { return C.batos_vocab_index_new(vocab) }

func cVocabIndexFree(ix cVocabIndex) { C.batos_vocab_index_free(ix) }

// cSampler is a batos_sampler (sampler.cpp).
type cSampler = *C.batos_sampler

// cSamplerNew returns a sampler, or nil and a reason when grammar does not
// parse.
func cSamplerNew(vocab cptr, ix cVocabIndex, grammar string, topK int, topP, temp float32, seed uint32) (cSampler, string) {
	var cg *C.char
	if grammar != "" {
		cg = C.CString(grammar)
		defer C.free(unsafe.Pointer(cg))
	}
	var buf [256]C.char
	s := C.batos_sampler_new(vocab, ix, cg, C.int32_t(topK), C.float(topP), C.float(temp), C.uint32_t(seed), &buf[0], C.int32_t(len(buf)))
	if s == nil {
		return nil, C.GoString(&buf[0])
	}
	return s, ""
}

func cSamplerFree(s cSampler) { C.batos_sampler_free(s) }

func cSamplerExhaustive(s cSampler, on bool) { C.batos_sampler_exhaustive(s, C.bool(on)) }

// cSamplerAdmitDiff compares the two grammar filters on the whole
// vocabulary (tests): tokens judged differently, tokens admitted.
func cSamplerAdmitDiff(s cSampler) (int, int) {
	var admitted C.int32_t
	d := C.batos_sampler_admit_diff(s, &admitted)
	return int(d), int(admitted)
}

// cSamplerSample samples a token from output idx of ctx (-1 when there
// are no logits there); resampled reports that the grammar refused the
// token first chosen.
func cSamplerSample(s cSampler, ctx cptr, idx int) (tok Token, resampled bool) {
	var f C.bool
	t := C.batos_sampler_sample(s, ctx, C.int32_t(idx), &f)
	return Token(t), bool(f)
}

// cSamplerAccept advances the sampler past tok, or says why the grammar
// refuses it.
func cSamplerAccept(s cSampler, tok Token) (bool, string) {
	var buf [256]C.char
	if C.batos_sampler_accept(s, C.int32_t(tok), &buf[0], C.int32_t(len(buf))) {
		return true, ""
	}
	return false, C.GoString(&buf[0])
}

// cSamplerForced returns the text the grammar forces next (at most
// len(buf)-1 bytes), or "".
func cSamplerForced(s cSampler, buf []byte) string {
	n := C.batos_sampler_forced(s, (*C.char)(unsafe.Pointer(&buf[0])), C.int32_t(len(buf)))
	return string(buf[:n])
}

// abortFlag is a flag in C memory that llama.cpp polls during decode
// (llama_set_abort_callback); setting it makes llama_decode return early.
type abortFlag struct{ p *C.int32_t }

func newAbortFlag() abortFlag { return abortFlag{(*C.int32_t)(C.calloc(1, 4))} }
func (f abortFlag) free()     { C.free(unsafe.Pointer(f.p)) }
func (f abortFlag) set(on bool) {
	v := C.int32_t(0)
	if on {
		v = 1
	}
	C.batos_store_flag(f.p, v)
}
func (f abortFlag) install(ctx cptr) { C.batos_set_abort(ctx, f.p) }

// cBackendLoad loads a ggml backend library by path; nil on failure.
func cBackendLoad(path string) cptr {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return C.ggml_backend_load(cp)
}

func cDevices() []Device {
	n := int(C.ggml_backend_dev_count())
	devs := make([]Device, 0, n)
	for i := range n {
		d := C.ggml_backend_dev_get(C.size_t(i))
		var free, total C.size_t
		C.ggml_backend_dev_memory(d, &free, &total)
		devs = append(devs, Device{
			Index:       i,
			Name:        C.GoString(C.ggml_backend_dev_name(d)),
			Description: C.GoString(C.ggml_backend_dev_description(d)),
			Backend:     C.GoString(C.ggml_backend_reg_name(C.ggml_backend_dev_backend_reg(d))),
			Type:        DeviceType(C.ggml_backend_dev_type(d)),
			FreeMemory:  uint64(free),
			TotalMemory: uint64(total),
		})
	}
	return devs
}
