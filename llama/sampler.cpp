// The package's token sampler. llama.cpp's common_sampler (since about
// 2025-10) applies a grammar to every token of the vocabulary before
// sampling: on a 128k-token vocabulary that is most of a token's time on a
// GPU (measured: JSON-schema decoding 27 against 136 tok/s before). This
// sampler samples without the grammar and checks only the token chosen,
// applying the grammar to the whole vocabulary only when that token is
// rejected, as llama.cpp's sampler did until then. It also reads from the
// grammar's stacks the text the grammar forces next, for jump-forward
// decoding (generate.go).
//
// llama.h's C API is declared here by hand, like cgo.go does, and so is
// the part of llama.cpp's internal grammar API (src/llama-grammar.h,
// C++ linkage) this file calls; the declarations must match llama.cpp's
// exactly, or the link fails (the functions' mangled names carry their
// parameter types). Their return types are not in the names: the two
// used (the stacks' vector type and the grammar element) are declared
// as llama-grammar.h declares them at ec98e2002, and TestSamplerForced
// checks them against a grammar.

#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <vector>

extern "C" {
typedef int32_t llama_token;
typedef struct llama_token_data {
	llama_token id;
	float logit;
	float p;
} llama_token_data;
typedef struct llama_token_data_array {
	llama_token_data *data;
	size_t size;
	int64_t selected;
	bool sorted;
} llama_token_data_array;
typedef struct llama_sampler_chain_params {
	bool no_perf;
} llama_sampler_chain_params;

struct llama_sampler;
struct llama_context;
struct llama_vocab;

float *llama_get_logits_ith(struct llama_context *ctx, int32_t i);
int32_t llama_vocab_n_tokens(const struct llama_vocab *vocab);
llama_sampler_chain_params llama_sampler_chain_default_params(void);
struct llama_sampler *llama_sampler_chain_init(llama_sampler_chain_params params);
void llama_sampler_chain_add(struct llama_sampler *chain, struct llama_sampler *smpl);
struct llama_sampler *llama_sampler_init_greedy(void);
struct llama_sampler *llama_sampler_init_dist(uint32_t seed);
struct llama_sampler *llama_sampler_init_top_k(int32_t k);
struct llama_sampler *llama_sampler_init_top_p(float p, size_t min_keep);
struct llama_sampler *llama_sampler_init_temp(float t);
void llama_sampler_apply(struct llama_sampler *smpl, llama_token_data_array *cur_p);
void llama_sampler_accept(struct llama_sampler *smpl, llama_token token);
void llama_sampler_free(struct llama_sampler *smpl);
}

// src/llama-grammar.h (C++ linkage).
enum llama_gretype {
	LLAMA_GRETYPE_END = 0,
	LLAMA_GRETYPE_ALT = 1,
	LLAMA_GRETYPE_RULE_REF = 2,
	LLAMA_GRETYPE_CHAR = 3,
	LLAMA_GRETYPE_CHAR_NOT = 4,
	LLAMA_GRETYPE_CHAR_RNG_UPPER = 5,
	LLAMA_GRETYPE_CHAR_ALT = 6,
	LLAMA_GRETYPE_CHAR_ANY = 7,
	LLAMA_GRETYPE_TOKEN = 8,
	LLAMA_GRETYPE_TOKEN_NOT = 9,
};
typedef struct llama_grammar_element {
	enum llama_gretype type;
	uint32_t value;
} llama_grammar_element;
using llama_grammar_stack = std::vector<const llama_grammar_element *>;
using llama_grammar_stacks = std::vector<llama_grammar_stack>;

struct llama_grammar;
struct ollama_vocab;
struct llama_grammar *llama_grammar_init_impl(const struct llama_vocab *vocab,
                                              const struct ollama_vocab *ollama_vocab,
                                              const char *grammar_str, const char *grammar_root,
                                              bool lazy, const char **trigger_patterns,
                                              size_t num_trigger_patterns,
                                              const llama_token *trigger_tokens,
                                              size_t num_trigger_tokens);
void llama_grammar_free_impl(struct llama_grammar *grammar);
void llama_grammar_apply_impl(const struct llama_grammar &grammar, llama_token_data_array *cur_p);
void llama_grammar_accept_impl(struct llama_grammar &grammar, llama_token token);
void llama_grammar_accept(struct llama_grammar *grammar, uint32_t chr);
llama_grammar_stacks &llama_grammar_get_stacks(struct llama_grammar *grammar);

struct batos_sampler {
	const llama_vocab *vocab;
	int32_t n_vocab;
	llama_sampler *chain;
	llama_grammar *grammar;
	size_t want; // valid candidates the chain needs: 1 greedy, else top-k
	bool exhaustive; // filter the whole vocabulary (the reference, for tests)
	std::vector<llama_token_data> cur;
	std::vector<llama_token_data> valid;
	std::vector<llama_token_data> chunk;
	std::vector<float> logits;
};

static void set_err(char *err, int32_t cap, const char *what) {
	if (err != nullptr && cap > 0) {
		snprintf(err, (size_t)cap, "%s", what);
	}
}

static llama_grammar *grammar_new(const llama_vocab *vocab, const char *text) {
	return llama_grammar_init_impl(vocab, nullptr, text, "root", false, nullptr, 0, nullptr, 0);
}

extern "C" int batos_grammar_check(void *vocab, const char *grammar, char *err, int32_t cap) {
	try {
		llama_grammar *g = grammar_new((const llama_vocab *)vocab, grammar);
		if (g == nullptr) {
			return -1;
		}
		llama_grammar_free_impl(g);
		return 0;
	} catch (const std::exception &e) {
		set_err(err, cap, e.what());
		return -1;
	}
}

extern "C" batos_sampler *batos_sampler_new(void *vocab, const char *grammar, int32_t top_k,
                                            float top_p, float temp, uint32_t seed, char *err,
                                            int32_t cap) {
	const llama_vocab *v = (const llama_vocab *)vocab;
	llama_grammar *g = nullptr;
	if (grammar != nullptr && grammar[0] != 0) {
		try {
			g = grammar_new(v, grammar);
		} catch (const std::exception &e) {
			set_err(err, cap, e.what());
			return nullptr;
		}
		if (g == nullptr) {
			return nullptr;
		}
	}
	llama_sampler_chain_params p = llama_sampler_chain_default_params();
	p.no_perf = true;
	llama_sampler *chain = llama_sampler_chain_init(p);
	if (temp <= 0) {
		llama_sampler_chain_add(chain, llama_sampler_init_greedy());
	} else {
		llama_sampler_chain_add(chain, llama_sampler_init_top_k(top_k));
		llama_sampler_chain_add(chain, llama_sampler_init_top_p(top_p, 1));
		llama_sampler_chain_add(chain, llama_sampler_init_temp(temp));
		llama_sampler_chain_add(chain, llama_sampler_init_dist(seed));
	}
	batos_sampler *s = new batos_sampler;
	s->vocab = v;
	s->n_vocab = llama_vocab_n_tokens(v);
	s->chain = chain;
	s->grammar = g;
	s->want = temp <= 0 ? 1 : (top_k > 0 ? (size_t)top_k : (size_t)s->n_vocab);
	s->exhaustive = false;
	s->cur.resize((size_t)s->n_vocab);
	return s;
}

extern "C" void batos_sampler_free(batos_sampler *s) {
	if (s == nullptr) {
		return;
	}
	llama_sampler_free(s->chain);
	llama_grammar_free_impl(s->grammar);
	delete s;
}

static llama_token_data_array fill(batos_sampler *s, const float *logits) {
	for (int32_t t = 0; t < s->n_vocab; t++) {
		s->cur[(size_t)t] = llama_token_data{t, logits[t], 0.0f};
	}
	return llama_token_data_array{s->cur.data(), s->cur.size(), -1, false};
}

// filter returns the candidates the chain samples from once the token it
// chose first broke the grammar: the tokens the grammar admits. It checks
// the 1,024 best logits first (selected in linear time) and the whole
// vocabulary only when fewer than the chain's top-k (one token when
// greedy) are admitted there. The chain keeps the k best admitted tokens,
// so this is what filtering the whole vocabulary first gives
// (TestGrammarFilterExact), with far fewer tokens checked when the
// grammar admits many: checking one costs a walk of the grammar's stacks
// (on an H200 host ALFRED's methods sampled at 14-25 tok/s with the whole
// vocabulary filtered per refused token).
static llama_token_data_array filter(batos_sampler *s, const float *logits) {
	llama_token_data_array all = fill(s, logits);
	auto better = [](const llama_token_data &a, const llama_token_data &b) { return a.logit > b.logit; };
	s->valid.clear();
	const size_t top = 1024;
	if (!s->exhaustive && all.size > 4 * top) {
		// The best `top` logits, kept in token order (the grammar looks
		// each token's text up; in order, the lookups stay cache-friendly).
		s->logits.assign(logits, logits + all.size);
		std::nth_element(s->logits.begin(), s->logits.begin() + (top - 1), s->logits.end(), std::greater<float>());
		const float thr = s->logits[top - 1];
		s->chunk.clear();
		for (size_t i = 0; i < all.size; i++) {
			if (all.data[i].logit >= thr) {
				s->chunk.push_back(all.data[i]);
			}
		}
		llama_token_data_array part{s->chunk.data(), s->chunk.size(), -1, false};
		llama_grammar_apply_impl(*s->grammar, &part);
		for (const llama_token_data &t : s->chunk) {
			if (!std::isinf(t.logit)) {
				s->valid.push_back(t);
			}
		}
	}
	if (s->valid.size() < s->want) {
		// Too few among the best: the whole vocabulary, in token order.
		s->valid.clear();
		llama_grammar_apply_impl(*s->grammar, &all);
		for (size_t i = 0; i < all.size; i++) {
			if (!std::isinf(all.data[i].logit)) {
				s->valid.push_back(all.data[i]);
			}
		}
	}
	if (s->valid.empty()) {
		// Nothing admitted (a grammar at a dead end): the chain picks from
		// the refused tokens, as llama.cpp's would.
		return all;
	}
	std::sort(s->valid.begin(), s->valid.end(), better);
	if (s->valid.size() == 1 && s->want > 1) {
		// llama.cpp's dist sampler draws no random number for a single
		// candidate; the whole vocabulary would give it more (refused,
		// probability 0). One refused candidate keeps the draws, and so a
		// seed's text, the same.
		llama_token_data refused = all.data[all.size - 1];
		refused.logit = -INFINITY;
		s->valid.push_back(refused);
	}
	return llama_token_data_array{s->valid.data(), s->valid.size(), -1, true};
}

extern "C" int32_t batos_sampler_sample(batos_sampler *s, void *ctx, int32_t idx, bool *resampled) {
	*resampled = false;
	const float *logits = llama_get_logits_ith((llama_context *)ctx, idx);
	if (logits == nullptr) {
		return -1;
	}
	llama_token_data_array cur = fill(s, logits);
	llama_sampler_apply(s->chain, &cur);
	if (cur.selected < 0 || (size_t)cur.selected >= cur.size) {
		return -1;
	}
	llama_token id = cur.data[cur.selected].id;
	if (s->grammar == nullptr) {
		return id;
	}
	try {
		llama_token_data one{id, 1.0f, 0.0f};
		llama_token_data_array single{&one, 1, -1, false};
		llama_grammar_apply_impl(*s->grammar, &single);
		if (!std::isinf(one.logit)) {
			return id;
		}
		*resampled = true;
		cur = filter(s, logits);
	} catch (const std::exception &) {
		return -1;
	}
	llama_sampler_apply(s->chain, &cur);
	if (cur.selected < 0 || (size_t)cur.selected >= cur.size) {
		return -1;
	}
	return cur.data[cur.selected].id;
}

extern "C" bool batos_sampler_accept(batos_sampler *s, int32_t tok, char *err, int32_t cap) {
	if (s->grammar != nullptr) {
		try {
			llama_grammar_accept_impl(*s->grammar, tok);
		} catch (const std::exception &e) {
			set_err(err, cap, e.what());
			return false;
		}
	}
	llama_sampler_accept(s->chain, tok);
	return true;
}

// forced_char reports the one character every stack of the grammar
// admits next, or false where the stacks admit a choice, a character
// class, a token, or the end.
static bool forced_char(const llama_grammar_stacks &stacks, uint32_t *chr) {
	if (stacks.empty()) {
		return false;
	}
	bool first = true;
	for (const llama_grammar_stack &st : stacks) {
		if (st.empty()) {
			return false;
		}
		const llama_grammar_element *e = st.back();
		if (e->type != LLAMA_GRETYPE_CHAR) {
			return false;
		}
		if (e[1].type == LLAMA_GRETYPE_CHAR_ALT || e[1].type == LLAMA_GRETYPE_CHAR_RNG_UPPER) {
			return false;
		}
		if (first) {
			*chr = e->value;
			first = false;
		} else if (*chr != e->value) {
			return false;
		}
	}
	return true;
}

static int utf8_put(char *buf, uint32_t c) {
	if (c < 0x80) {
		buf[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		buf[0] = (char)(0xC0 | (c >> 6));
		buf[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		buf[0] = (char)(0xE0 | (c >> 12));
		buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		buf[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	buf[0] = (char)(0xF0 | (c >> 18));
	buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	buf[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

extern "C" int32_t batos_sampler_forced(batos_sampler *s, char *buf, int32_t cap) {
	if (s->grammar == nullptr || cap < 5) {
		return 0;
	}
	int32_t n = 0;
	try {
		llama_grammar_stacks &stacks = llama_grammar_get_stacks(s->grammar);
		uint32_t c = 0;
		// Most steps force nothing: look before copying the stacks.
		if (!forced_char(stacks, &c) || c == 0) {
			buf[0] = 0;
			return 0;
		}
		const llama_grammar_stacks saved = stacks;
		while (n + 4 < cap && forced_char(stacks, &c)) {
			if (c == 0) {
				break;
			}
			n += utf8_put(buf + n, c);
			llama_grammar_accept(s->grammar, c);
		}
		llama_grammar_get_stacks(s->grammar) = saved;
	} catch (const std::exception &) {
		n = 0;
	}
	buf[n] = 0;
	return n;
}

extern "C" void batos_sampler_exhaustive(batos_sampler *s, bool on) { s->exhaustive = on; }
