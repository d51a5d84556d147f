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
#include <map>
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
bool llama_vocab_is_eog(const struct llama_vocab *vocab, llama_token token);
int32_t llama_token_to_piece(const struct llama_vocab *vocab, llama_token token, char *buf, int32_t length,
                             int32_t lstrip, bool special);
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
struct llama_partial_utf8 {
	uint32_t value;
	int n_remain;
};
struct llama_grammar_candidate {
	size_t index;
	const uint32_t *code_points;
	llama_partial_utf8 partial_utf8;
	llama_token id;
};
using llama_grammar_rule = std::vector<llama_grammar_element>;
using llama_grammar_stack = std::vector<const llama_grammar_element *>;
using llama_grammar_rules = std::vector<llama_grammar_rule>;
using llama_grammar_stacks = std::vector<llama_grammar_stack>;
using llama_grammar_candidates = std::vector<llama_grammar_candidate>;

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
const llama_grammar_rules &llama_grammar_get_rules(const struct llama_grammar *grammar);
std::vector<llama_grammar_candidate> llama_grammar_reject_candidates_for_stack(const llama_grammar_rules &rules,
                                                                                const llama_grammar_stack &stack,
                                                                                const llama_grammar_candidates &candidates);

// The vocabulary as the grammar reads it, decoded once per model
// (batos_vocab_index_new): llama_grammar_apply_impl copies every
// candidate's text and decodes it to code points on every call, which on
// a 128k vocabulary is most of what filtering it costs. With the index a
// filter reads the decoded code points, and looks only at tokens whose
// first code point the top of some grammar stack admits (a token whose
// first character no stack admits is refused by all of them); those it
// passes to llama.cpp's own check, llama_grammar_reject_candidates_for_stack.
enum token_kind : uint8_t { TOKEN_TEXT, TOKEN_EOG, TOKEN_EMPTY };

struct batos_vocab_index {
	int32_t n_vocab = 0;
	std::vector<uint8_t> kind;
	std::vector<uint32_t> cps_off;     // token → its code points in cps, 0-terminated
	std::vector<uint32_t> cps;
	std::vector<uint32_t> bytes_off;   // token → its text in bytes (n_vocab+1 offsets)
	std::vector<char> bytes;
	std::vector<llama_partial_utf8> end; // the partial UTF-8 state after the token, from none
	std::vector<int32_t> first;        // token → index in firsts, -1: no whole code point
	std::vector<uint32_t> firsts;      // the distinct first code points, ascending

	// The text tokens as a trie of code points, children contiguous and
	// ascending: a whole-vocabulary filter walks it with the grammar, so
	// tokens that share a prefix are checked together.
	struct node {
		uint32_t cp;
		uint32_t child0, nchild;
		uint32_t tok0, ntok; // tokens ending here, in node_toks
	};
	std::vector<node> trie;
	std::vector<int32_t> node_toks;
	size_t depth = 0; // the trie's depth: the most code points of a token
};

// build_trie fills ix->trie from the text tokens' code points.
static void build_trie(batos_vocab_index *ix) {
	struct tmp {
		uint32_t cp;
		std::map<uint32_t, uint32_t> kids;
		std::vector<int32_t> toks;
	};
	std::vector<tmp> t(1);
	t[0].cp = 0;
	for (int32_t tok = 0; tok < ix->n_vocab; tok++) {
		if (ix->kind[(size_t)tok] != TOKEN_TEXT) {
			continue;
		}
		uint32_t n = 0;
		size_t len = 0;
		for (const uint32_t *c = ix->cps.data() + ix->cps_off[(size_t)tok]; *c != 0; c++, len++) {
			auto it = t[n].kids.find(*c);
			if (it == t[n].kids.end()) {
				const uint32_t k = (uint32_t)t.size();
				t[n].kids.emplace(*c, k);
				t.push_back(tmp{*c, {}, {}});
				n = k;
			} else {
				n = it->second;
			}
		}
		t[n].toks.push_back(tok);
		ix->depth = std::max(ix->depth, len);
	}
	// Breadth first, so that each node's children are contiguous.
	std::vector<uint32_t> order{0};
	ix->trie.clear();
	ix->node_toks.clear();
	for (size_t i = 0; i < order.size(); i++) {
		const tmp &n = t[order[i]];
		batos_vocab_index::node out{n.cp, (uint32_t)(order.size()), (uint32_t)n.kids.size(),
		                            (uint32_t)ix->node_toks.size(), (uint32_t)n.toks.size()};
		ix->node_toks.insert(ix->node_toks.end(), n.toks.begin(), n.toks.end());
		for (const auto &k : n.kids) {
			order.push_back(k.second);
		}
		ix->trie.push_back(out);
	}
}

// decode_utf8 decodes src (up to a NUL) from the partial state start,
// appending the code points and a terminating 0 to out, exactly as
// llama-grammar.cpp's decode_utf8 does (an invalid sequence gives just the
// terminating 0 and state {0, -1}).
static llama_partial_utf8 decode_utf8(const char *src, size_t n, llama_partial_utf8 start, std::vector<uint32_t> &out) {
	static const int lookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4};
	const size_t base = out.size();
	const char *pos = src;
	const char *lim = src + n;
	uint32_t value = start.value;
	int n_remain = start.n_remain;
	while (pos < lim && *pos != 0 && n_remain > 0) {
		uint8_t next = (uint8_t)*pos;
		if ((next >> 6) != 2) {
			out.push_back(0);
			return llama_partial_utf8{0, -1};
		}
		value = (value << 6) + (next & 0x3F);
		++pos;
		--n_remain;
	}
	if (start.n_remain > 0 && n_remain == 0) {
		out.push_back(value);
	}
	while (pos < lim && *pos != 0) {
		uint8_t first = (uint8_t)*pos;
		n_remain = lookup[first >> 4] - 1;
		if (n_remain < 0) {
			out.resize(base);
			out.push_back(0);
			return llama_partial_utf8{0, n_remain};
		}
		uint8_t mask = (uint8_t)((1 << (7 - n_remain)) - 1);
		value = first & mask;
		++pos;
		while (pos < lim && *pos != 0 && n_remain > 0) {
			value = (value << 6) + ((uint8_t)*pos & 0x3F);
			++pos;
			--n_remain;
		}
		if (n_remain == 0) {
			out.push_back(value);
		}
	}
	out.push_back(0);
	return llama_partial_utf8{value, n_remain};
}

extern "C" batos_vocab_index *batos_vocab_index_new(void *vocab) {
	const llama_vocab *v = (const llama_vocab *)vocab;
	batos_vocab_index *ix = nullptr;
	try {
		ix = new batos_vocab_index;
		const int32_t n = llama_vocab_n_tokens(v);
		ix->n_vocab = n;
		ix->kind.resize((size_t)n);
		ix->cps_off.resize((size_t)n);
		ix->bytes_off.resize((size_t)n + 1);
		ix->end.resize((size_t)n);
		ix->first.assign((size_t)n, -1);
		std::vector<char> buf(256);
		for (int32_t t = 0; t < n; t++) {
			int32_t len = llama_token_to_piece(v, t, buf.data(), (int32_t)buf.size(), 0, true);
			if (len < 0) {
				buf.resize((size_t)-len);
				len = llama_token_to_piece(v, t, buf.data(), (int32_t)buf.size(), 0, true);
			}
			len = std::max(len, 0);
			ix->bytes_off[(size_t)t] = (uint32_t)ix->bytes.size();
			ix->bytes.insert(ix->bytes.end(), buf.data(), buf.data() + len);
			ix->cps_off[(size_t)t] = (uint32_t)ix->cps.size();
			if (llama_vocab_is_eog(v, t)) {
				ix->kind[(size_t)t] = TOKEN_EOG;
				ix->cps.push_back(0);
			} else if (len == 0 || buf[0] == 0) {
				ix->kind[(size_t)t] = TOKEN_EMPTY;
				ix->cps.push_back(0);
			} else {
				ix->kind[(size_t)t] = TOKEN_TEXT;
				ix->end[(size_t)t] = decode_utf8(buf.data(), (size_t)len, llama_partial_utf8{0, 0}, ix->cps);
				if (uint32_t c = ix->cps[ix->cps_off[(size_t)t]]; c != 0) {
					ix->firsts.push_back(c);
				}
			}
		}
		ix->bytes_off[(size_t)n] = (uint32_t)ix->bytes.size();
		build_trie(ix);
		std::sort(ix->firsts.begin(), ix->firsts.end());
		ix->firsts.erase(std::unique(ix->firsts.begin(), ix->firsts.end()), ix->firsts.end());
		for (int32_t t = 0; t < n; t++) {
			if (ix->kind[(size_t)t] != TOKEN_TEXT) {
				continue;
			}
			if (uint32_t c = ix->cps[ix->cps_off[(size_t)t]]; c != 0) {
				ix->first[(size_t)t] = (int32_t)(std::lower_bound(ix->firsts.begin(), ix->firsts.end(), c) - ix->firsts.begin());
			}
		}
		return ix;
	} catch (const std::exception &) {
		delete ix;
		return nullptr;
	}
}

extern "C" void batos_vocab_index_free(batos_vocab_index *ix) { delete ix; }

struct batos_sampler {
	const llama_vocab *vocab;
	int32_t n_vocab;
	llama_sampler *chain;
	llama_grammar *grammar;
	const batos_vocab_index *ix; // nil: every filter through llama_grammar_apply_impl
	llama_partial_utf8 partial;  // the grammar's partial UTF-8 state, tracked beside it
	size_t want; // valid candidates the chain needs: 1 greedy, else top-k
	bool exhaustive; // filter the whole vocabulary (the reference, for tests)
	std::vector<llama_token_data> cur;
	std::vector<llama_token_data> valid;
	std::vector<llama_token_data> chunk;
	std::vector<uint32_t> hist;
	std::vector<llama_token_data> head; // the candidates of a first sample
	std::vector<uint8_t> ok_first; // per index first code point: some stack admits it
	std::vector<std::pair<uint32_t, uint32_t>> ranges;
	llama_grammar_candidates cands;
	std::vector<uint32_t> scratch;
	std::vector<llama_grammar_stacks> levels; // per trie depth, the stacks there
	std::vector<uint8_t> ok_tok;              // per token, admitted by the trie walk
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

static bool has_token_elements(const llama_grammar *g);

extern "C" batos_sampler *batos_sampler_new(void *vocab, const batos_vocab_index *ix, const char *grammar, int32_t top_k,
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
	s->ix = ix;
	if (ix != nullptr && g != nullptr && has_token_elements(g)) {
		s->ix = nullptr; // token elements: llama.cpp's filter alone
	}
	if (s->ix != nullptr) {
		s->levels.resize(s->ix->depth + 2);
	}
	s->partial = llama_partial_utf8{0, 0};
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

static bool is_char_element(const llama_grammar_element *pos) {
	return pos->type == LLAMA_GRETYPE_CHAR || pos->type == LLAMA_GRETYPE_CHAR_NOT || pos->type == LLAMA_GRETYPE_CHAR_ANY;
}

// mark sets ok_first for the first code points in [lo, hi].
static void mark(batos_sampler *s, uint32_t lo, uint32_t hi) {
	const std::vector<uint32_t> &f = s->ix->firsts;
	auto a = std::lower_bound(f.begin(), f.end(), lo);
	auto b = std::upper_bound(a, f.end(), hi);
	std::fill(s->ok_first.begin() + (a - f.begin()), s->ok_first.begin() + (b - f.begin()), 1);
}

// mark_stack marks the first code points the character element at the
// top of a stack admits, read as llama-grammar.cpp's match_char reads it.
static void mark_stack(batos_sampler *s, const llama_grammar_element *pos) {
	const bool positive = pos->type == LLAMA_GRETYPE_CHAR || pos->type == LLAMA_GRETYPE_CHAR_ANY;
	bool any = false;
	s->ranges.clear();
	do {
		if (pos[1].type == LLAMA_GRETYPE_CHAR_RNG_UPPER) {
			s->ranges.emplace_back(pos->value, pos[1].value);
			pos += 2;
		} else if (pos->type == LLAMA_GRETYPE_CHAR_ANY) {
			any = true;
			pos += 1;
		} else {
			s->ranges.emplace_back(pos->value, pos->value);
			pos += 1;
		}
	} while (pos->type == LLAMA_GRETYPE_CHAR_ALT);
	if (any) {
		if (positive) {
			mark(s, 0, UINT32_MAX);
		}
		return;
	}
	if (positive) {
		for (const auto &r : s->ranges) {
			if (r.first <= r.second) {
				mark(s, r.first, r.second);
			}
		}
		return;
	}
	std::sort(s->ranges.begin(), s->ranges.end());
	uint64_t next = 0; // the lowest code point not yet known to be excluded
	for (const auto &r : s->ranges) {
		if (r.first > r.second) {
			continue;
		}
		if (r.first > next) {
			mark(s, (uint32_t)next, r.first - 1);
		}
		next = std::max<uint64_t>(next, (uint64_t)r.second + 1);
	}
	if (next <= UINT32_MAX) {
		mark(s, (uint32_t)next, UINT32_MAX);
	}
}

// admit sets the logit of each token in cur the grammar refuses to
// -INFINITY: what llama_grammar_apply_impl does, through the vocabulary
// index when the sampler has one (the tests compare the two:
// TestGrammarFilterExact). It falls back to llama.cpp's where the index
// cannot answer: a partial UTF-8 character pending, a token element at
// the top of a stack, or no stacks.
static void admit(batos_sampler *s, llama_token_data_array *cur) {
	const batos_vocab_index *ix = s->ix;
	if (ix == nullptr || s->exhaustive || s->partial.n_remain != 0) {
		llama_grammar_apply_impl(*s->grammar, cur);
		return;
	}
	const llama_grammar_stacks &stacks = llama_grammar_get_stacks(s->grammar);
	if (stacks.empty()) {
		llama_grammar_apply_impl(*s->grammar, cur);
		return;
	}
	// Marking the admitted first characters costs a pass over all of
	// them: worth it for a chunk of candidates, not for the one token
	// sampled first.
	const bool prefilter = cur->size > 64;
	bool allow_eog = false;
	if (prefilter) {
		s->ok_first.assign(ix->firsts.size(), 0);
	}
	for (const llama_grammar_stack &st : stacks) {
		if (st.empty()) {
			allow_eog = true;
			continue;
		}
		if (!is_char_element(st.back())) {
			llama_grammar_apply_impl(*s->grammar, cur);
			return;
		}
		if (prefilter) {
			mark_stack(s, st.back());
		}
	}
	s->cands.clear();
	for (size_t i = 0; i < cur->size; i++) {
		const llama_token t = cur->data[i].id;
		if (t < 0 || t >= ix->n_vocab) {
			cur->data[i].logit = -INFINITY;
			continue;
		}
		switch (ix->kind[(size_t)t]) {
		case TOKEN_EOG:
			if (!allow_eog) {
				cur->data[i].logit = -INFINITY;
			}
			continue;
		case TOKEN_EMPTY:
			cur->data[i].logit = -INFINITY;
			continue;
		default:
			break;
		}
		const int32_t f = ix->first[(size_t)t];
		if (prefilter && f >= 0 && !s->ok_first[(size_t)f]) {
			cur->data[i].logit = -INFINITY; // no stack admits its first character
			continue;
		}
		s->cands.push_back(llama_grammar_candidate{i, ix->cps.data() + ix->cps_off[(size_t)t], ix->end[(size_t)t], t});
	}
	if (s->cands.empty()) {
		return;
	}
	// A token is refused when every stack refuses it (llama-grammar.cpp's
	// llama_grammar_reject_candidates, which is not exported).
	const llama_grammar_rules &rules = llama_grammar_get_rules(s->grammar);
	llama_grammar_candidates rejects = llama_grammar_reject_candidates_for_stack(rules, stacks.front(), s->cands);
	for (size_t i = 1; i < stacks.size() && !rejects.empty(); i++) {
		rejects = llama_grammar_reject_candidates_for_stack(rules, stacks[i], rejects);
	}
	for (const llama_grammar_candidate &r : rejects) {
		cur->data[r.index].logit = -INFINITY;
	}
}

// has_token_elements reports whether the grammar names tokens (<[id]>),
// which the vocabulary index does not handle.
static bool has_token_elements(const llama_grammar *g) {
	for (const llama_grammar_rule &r : llama_grammar_get_rules(g)) {
		for (const llama_grammar_element &e : r) {
			if (e.type == LLAMA_GRETYPE_TOKEN || e.type == LLAMA_GRETYPE_TOKEN_NOT) {
				return true;
			}
		}
	}
	return false;
}

// match_char is llama-grammar.cpp's llama_grammar_match_char (static
// there): whether the character element at pos admits chr.
static bool match_char(const llama_grammar_element *pos, uint32_t chr) {
	bool found = false;
	const bool positive = pos->type == LLAMA_GRETYPE_CHAR || pos->type == LLAMA_GRETYPE_CHAR_ANY;
	do {
		if (pos[1].type == LLAMA_GRETYPE_CHAR_RNG_UPPER) {
			found = found || (pos->value <= chr && chr <= pos[1].value);
			pos += 2;
		} else if (pos->type == LLAMA_GRETYPE_CHAR_ANY) {
			found = true;
			pos += 1;
		} else {
			found = found || pos->value == chr;
			pos += 1;
		}
	} while (pos->type == LLAMA_GRETYPE_CHAR_ALT);
	return found == positive;
}

// match_partial_char is llama-grammar.cpp's llama_grammar_match_partial_char:
// whether some completion of the partial UTF-8 character p could satisfy
// the character element at pos.
static bool match_partial_char(const llama_grammar_element *pos, llama_partial_utf8 p) {
	const bool positive = pos->type == LLAMA_GRETYPE_CHAR || pos->type == LLAMA_GRETYPE_CHAR_ANY;
	const uint32_t value = p.value;
	const int n_remain = p.n_remain;
	if (n_remain < 0 || (n_remain == 1 && value < 2)) {
		return false;
	}
	uint32_t low = value << (n_remain * 6);
	const uint32_t high = low | ((1u << (n_remain * 6)) - 1);
	if (low == 0) {
		if (n_remain == 2) {
			low = 1u << 11;
		} else if (n_remain == 3) {
			low = 1u << 16;
		}
	}
	do {
		if (pos[1].type == LLAMA_GRETYPE_CHAR_RNG_UPPER) {
			if (pos->value <= high && low <= pos[1].value) {
				return positive;
			}
			pos += 2;
		} else if (pos->type == LLAMA_GRETYPE_CHAR_ANY) {
			return true;
		} else {
			if (low <= pos->value && pos->value <= high) {
				return positive;
			}
			pos += 1;
		}
	} while (pos->type == LLAMA_GRETYPE_CHAR_ALT);
	return !positive;
}

// walk marks in s->ok_tok the tokens under trie node n that the grammar
// admits, its stacks there being s->levels[d]: a token whose code points
// all matched is admitted unless it ends inside a character that no stack
// can continue. A child whose character no stack admits is not entered,
// so the walk visits only the admitted prefixes of the vocabulary.
static void walk(batos_sampler *s, uint32_t n, size_t d) {
	const batos_vocab_index &ix = *s->ix;
	const batos_vocab_index::node &node = ix.trie[n];
	const llama_grammar_stacks &here = s->levels[d];
	for (uint32_t i = 0; i < node.ntok; i++) {
		const int32_t t = ix.node_toks[node.tok0 + i];
		const llama_partial_utf8 p = ix.end[(size_t)t];
		bool ok = p.n_remain == 0 && d > 0;
		for (size_t k = 0; !ok && p.n_remain != 0 && k < here.size(); k++) {
			const llama_grammar_stack &st = here[k];
			ok = !st.empty() && is_char_element(st.back()) && match_partial_char(st.back(), p);
		}
		s->ok_tok[(size_t)t] = ok;
	}
	llama_grammar_stacks &g = llama_grammar_get_stacks(s->grammar);
	for (uint32_t c = node.child0; c < node.child0 + node.nchild; c++) {
		const uint32_t cp = ix.trie[c].cp;
		bool any = false;
		for (const llama_grammar_stack &st : here) {
			if (!st.empty() && is_char_element(st.back()) && match_char(st.back(), cp)) {
				any = true;
				break;
			}
		}
		if (!any) {
			continue;
		}
		g = here;
		llama_grammar_accept(s->grammar, cp);
		if (g.empty()) {
			continue;
		}
		s->levels[d + 1] = std::move(g);
		walk(s, c, d + 1);
	}
}

// admit_all is admit over the whole vocabulary in token order (cur from
// fill): the same judgement, by walking the vocabulary's trie with the
// grammar (TestGrammarIndexAdmits compares it with llama.cpp's filter).
static void admit_all(batos_sampler *s, llama_token_data_array *cur) {
	const batos_vocab_index *ix = s->ix;
	if (ix == nullptr || s->exhaustive || s->partial.n_remain != 0 || cur->size != (size_t)ix->n_vocab) {
		admit(s, cur);
		return;
	}
	llama_grammar_stacks &g = llama_grammar_get_stacks(s->grammar);
	if (g.empty()) {
		admit(s, cur);
		return;
	}
	bool allow_eog = false;
	for (const llama_grammar_stack &st : g) {
		if (st.empty()) {
			allow_eog = true;
		} else if (!is_char_element(st.back())) {
			admit(s, cur);
			return;
		}
	}
	s->ok_tok.assign((size_t)ix->n_vocab, 0);
	s->levels[0] = g;
	try {
		walk(s, 0, 0);
	} catch (...) {
		g = s->levels[0];
		throw;
	}
	g = s->levels[0];
	for (size_t i = 0; i < cur->size; i++) {
		const llama_token t = cur->data[i].id;
		bool ok;
		switch (ix->kind[(size_t)t]) {
		case TOKEN_EOG:
			ok = allow_eog;
			break;
		case TOKEN_EMPTY:
			ok = false;
			break;
		default:
			ok = s->ok_tok[(size_t)t] != 0;
		}
		if (!ok) {
			cur->data[i].logit = -INFINITY;
		}
	}
}

// threshold returns a logit such that at least n of the first size
// logits are at or above it, and few more than n: two linear passes (the
// range, then a histogram of it), several times faster than selecting
// the n-th best exactly (nth_element was a fifth of a sampled token's time
// on a 128k vocabulary).
static float threshold(batos_sampler *s, const float *logits, size_t size, size_t n) {
	float lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < size; i++) {
		const float l = logits[i];
		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
	}
	if (!std::isfinite(lo) || !std::isfinite(hi) || hi - lo <= 0) {
		return lo; // not finite, or all equal: every token
	}
	constexpr int buckets = 2048;
	s->hist.assign(buckets, 0);
	const float scale = (float)(buckets - 1) / (hi - lo);
	for (size_t i = 0; i < size; i++) {
		s->hist[(size_t)((logits[i] - lo) * scale)]++;
	}
	size_t seen = 0;
	for (int b = buckets - 1; b > 0; b--) {
		seen += s->hist[(size_t)b];
		if (seen >= n) {
			// The lowest logit that maps to bucket b, less a margin for
			// rounding: a superset of the bucket's tokens is harmless.
			return lo + (float)b / scale - (hi - lo) * 1e-6f;
		}
	}
	return lo;
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
		// At least the best `top` logits, kept in token order (the
		// grammar looks each token's text up; in order, the lookups stay
		// cache-friendly): every logit at or above a threshold, so that
		// no better token is left out.
		const float thr = threshold(s, logits, all.size, top);
		s->chunk.clear();
		for (size_t i = 0; i < all.size; i++) {
			if (all.data[i].logit >= thr) {
				s->chunk.push_back(all.data[i]);
			}
		}
		llama_token_data_array part{s->chunk.data(), s->chunk.size(), -1, false};
		admit(s, &part);
		for (const llama_token_data &t : s->chunk) {
			if (!std::isinf(t.logit)) {
				s->valid.push_back(t);
			}
		}
	}
	if (s->valid.size() < s->want) {
		// Too few among the best: the whole vocabulary, in token order.
		s->valid.clear();
		admit_all(s, &all);
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
	llama_token_data_array cur;
	if (!s->exhaustive && s->want <= 64 && (size_t)s->n_vocab > 4 * 1024) {
		// The chain keeps the top-k (greedy: the best) of what it is
		// given, so every token at or above a threshold that at least k
		// reach is enough: the same choice and the same random draws,
		// without filling and ranking the whole vocabulary.
		const float thr = threshold(s, logits, (size_t)s->n_vocab, s->want);
		s->head.clear();
		for (int32_t t = 0; t < s->n_vocab; t++) {
			if (logits[t] >= thr) {
				s->head.push_back(llama_token_data{t, logits[t], 0.0f});
			}
		}
		cur = llama_token_data_array{s->head.data(), s->head.size(), -1, false};
	} else {
		cur = fill(s, logits);
	}
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
		admit(s, &single);
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
			const batos_vocab_index *ix = s->ix;
			if (ix != nullptr && tok >= 0 && tok < ix->n_vocab && ix->kind[(size_t)tok] == TOKEN_TEXT) {
				if (s->partial.n_remain == 0) {
					s->partial = ix->end[(size_t)tok];
				} else {
					// As llama_grammar_accept_impl decodes it, from the pending state.
					const char *b = ix->bytes.data() + ix->bytes_off[(size_t)tok];
					s->scratch.clear();
					s->partial = decode_utf8(b, ix->bytes_off[(size_t)tok + 1] - ix->bytes_off[(size_t)tok], s->partial, s->scratch);
				}
			}
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

extern "C" int32_t batos_sampler_admit_diff(batos_sampler *s, int32_t *admitted) {
	*admitted = 0;
	if (s->grammar == nullptr) {
		return 0;
	}
	std::vector<llama_token_data> a((size_t)s->n_vocab), b((size_t)s->n_vocab), c((size_t)s->n_vocab);
	for (int32_t t = 0; t < s->n_vocab; t++) {
		a[(size_t)t] = b[(size_t)t] = c[(size_t)t] = llama_token_data{t, 0.0f, 0.0f};
	}
	llama_token_data_array aa{a.data(), a.size(), -1, false};
	llama_token_data_array bb{b.data(), b.size(), -1, false};
	llama_token_data_array cc{c.data(), c.size(), -1, false};
	try {
		admit(s, &aa);
		admit_all(s, &cc);
		llama_grammar_apply_impl(*s->grammar, &bb);
	} catch (const std::exception &) {
		return -1;
	}
	int32_t diff = 0;
	for (size_t i = 0; i < a.size(); i++) {
		diff += std::isinf(a[i].logit) != std::isinf(b[i].logit);
		diff += std::isinf(c[i].logit) != std::isinf(b[i].logit);
		*admitted += !std::isinf(b[i].logit);
	}
	return diff;
}
