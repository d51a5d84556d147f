// batos_llama_free frees a llama.cpp context without the use-after-free
// that ollama's ggml patch (0020-ggml-No-alloc-mode.patch, new since
// v0.6.5) put into llama_free: ggml_backend_sched_free now calls each
// backend's reset through sched->backends[b], but llama_context's
// destructor frees its backends (the `backends` member) before its
// scheduler (`sched`, declared earlier). On the CPU the freed backend is
// only read; on a GPU the CUDA backend's reset writes into its freed
// context, which crashed llama_free (SIGSEGV) after the GPU benchmark's
// batch.
//
// The link wraps ggml_backend_free (cgo.go: -Wl,--wrap=ggml_backend_free;
// ld redirects only references from other objects, here llama.cpp's
// ggml_backend_ptr deleter). While batos_llama_free runs, the wrapper
// queues the backends instead of freeing them, so the scheduler is freed
// with its backends alive; they are freed right after, in the order
// llama.cpp freed them. Any other ggml_backend_free goes straight through.

#include <stddef.h>

void __real_ggml_backend_free(void *backend);
void llama_free(void *ctx);

#define BATOS_MAX_DEFERRED 32

static __thread int batos_deferring;
static __thread int batos_n_deferred;
static __thread void *batos_deferred[BATOS_MAX_DEFERRED];

void __wrap_ggml_backend_free(void *backend) {
	if (batos_deferring && backend != NULL && batos_n_deferred < BATOS_MAX_DEFERRED) {
		batos_deferred[batos_n_deferred++] = backend;
		return;
	}
	__real_ggml_backend_free(backend);
}

// batos_llama_free returns how many backends it freed after the context.
int batos_llama_free(void *ctx) {
	batos_deferring = 1;
	llama_free(ctx);
	batos_deferring = 0;
	int n = batos_n_deferred;
	for (int i = 0; i < n; i++) {
		__real_ggml_backend_free(batos_deferred[i]);
		batos_deferred[i] = NULL;
	}
	batos_n_deferred = 0;
	return n;
}
