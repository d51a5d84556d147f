// The package's token sampler (sampler.cpp): a llama.cpp sampler chain
// with a grammar checked lazily, and the grammar's forced text for
// jump-forward decoding.
#ifndef BATOS_SAMPLER_H
#define BATOS_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct batos_sampler batos_sampler;
typedef struct batos_vocab_index batos_vocab_index;

// batos_vocab_index_new decodes vocab's tokens once, as the grammar reads
// them, for the samplers of one model to share (read-only); NULL when out
// of memory. Free it after the last sampler that uses it.
batos_vocab_index *batos_vocab_index_new(void *vocab);
void batos_vocab_index_free(batos_vocab_index *ix);

// batos_sampler_new returns a sampler over vocab, filtering through ix
// (NULL: through llama.cpp's grammar filter alone). grammar may be NULL or
// empty (no constraint). temp <= 0 samples greedily. It returns NULL, with
// the reason in err (cap bytes), when the grammar does not parse.
batos_sampler *batos_sampler_new(void *vocab, const batos_vocab_index *ix, const char *grammar,
                                 int32_t top_k, float top_p, float temp, uint32_t seed, char *err, int32_t cap);
void batos_sampler_free(batos_sampler *s);

// batos_sampler_sample returns the token sampled from output idx of ctx.
// With a grammar it samples without it first and checks only the chosen
// token; only a rejected token makes it filter the candidates through the
// grammar (best first) and sample again. *resampled is set when that
// happened.
int32_t batos_sampler_sample(batos_sampler *s, void *ctx, int32_t idx, bool *resampled);

// batos_sampler_accept advances the grammar and the chain past tok. It
// returns false, with the reason in err, when the grammar rejects it.
bool batos_sampler_accept(batos_sampler *s, int32_t tok, char *err, int32_t cap);

// batos_sampler_forced writes the text the grammar admits as the only
// continuation from its current state (UTF-8, at most cap-1 bytes, NUL
// terminated) and returns its length: 0 without a grammar, or where the
// grammar allows a choice, or may end.
int32_t batos_sampler_forced(batos_sampler *s, char *buf, int32_t cap);

// batos_sampler_exhaustive makes a refused token filter the whole
// vocabulary, as llama.cpp does (the reference the tests compare with).
void batos_sampler_exhaustive(batos_sampler *s, bool on);

// batos_sampler_admit_diff filters the whole vocabulary in the grammar's
// current state both ways, through the vocabulary index and through
// llama.cpp's filter, and returns how many tokens they judge differently
// (-1 on an error); *admitted is how many llama.cpp admits. For tests.
int32_t batos_sampler_admit_diff(batos_sampler *s, int32_t *admitted);

// batos_grammar_check returns 0 when grammar parses for vocab, or -1 with
// the reason in err.
int batos_grammar_check(void *vocab, const char *grammar, char *err, int32_t cap);

#ifdef __cplusplus
}
#endif

#endif
