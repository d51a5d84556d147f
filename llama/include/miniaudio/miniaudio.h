/*
 * A stand-in for miniaudio.h (https://miniaud.io), which the module zip of
 * github.com/ollama/ollama@v0.17.4 leaves out although its cgo package llama
 * includes it (llama.cpp/tools/mtmd/mtmd-helper.cpp decodes audio input for
 * multimodal models with it). This module uses no audio, so this header
 * declares only the part of miniaudio's API that mtmd-helper.cpp calls, and
 * every call fails: ma_decoder_init_memory returns MA_ERROR, so an audio
 * buffer given to mtmd_helper_bitmap_init_from_buf is refused ("Unable to
 * read WAV audio file from buffer") instead of decoded.
 *
 * The build finds it through CGO_CPPFLAGS=-I<module>/llama/include (set by
 * the Makefile and scripts/*.sh; see README's build notes). It is not
 * miniaudio: do not put it on an include path for other code.
 */
#ifndef BATOS_MINIAUDIO_STANDIN_H
#define BATOS_MINIAUDIO_STANDIN_H

#include <stddef.h>
#include <stdint.h>

#ifndef MA_API
#define MA_API static
#endif

typedef uint32_t ma_uint32;
typedef uint64_t ma_uint64;

typedef int ma_result;
#define MA_SUCCESS 0
#define MA_ERROR (-1)

typedef enum {
	ma_format_unknown = 0,
	ma_format_u8 = 1,
	ma_format_s16 = 2,
	ma_format_s24 = 3,
	ma_format_s32 = 4,
	ma_format_f32 = 5
} ma_format;

typedef enum {
	ma_encoding_format_unknown = 0,
	ma_encoding_format_wav
} ma_encoding_format;

typedef struct {
	ma_format format;
	ma_uint32 channels;
	ma_uint32 sampleRate;
} ma_decoder_config;

typedef struct {
	int unused;
} ma_decoder;

typedef struct {
	ma_encoding_format encodingFormat;
	ma_format format;
	ma_uint32 channels;
	ma_uint32 sampleRate;
} ma_encoder_config;

typedef struct {
	int unused;
} ma_encoder;

MA_API ma_decoder_config ma_decoder_config_init(ma_format format, ma_uint32 channels, ma_uint32 sampleRate)
{
	ma_decoder_config c;
	c.format = format;
	c.channels = channels;
	c.sampleRate = sampleRate;
	return c;
}

MA_API ma_result ma_decoder_init_memory(const void *data, size_t size, const ma_decoder_config *config, ma_decoder *decoder)
{
	(void)data; (void)size; (void)config; (void)decoder;
	return MA_ERROR;
}

MA_API ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *decoder, ma_uint64 *length)
{
	(void)decoder;
	if (length) *length = 0;
	return MA_ERROR;
}

MA_API ma_result ma_decoder_read_pcm_frames(ma_decoder *decoder, void *frames, ma_uint64 count, ma_uint64 *read)
{
	(void)decoder; (void)frames; (void)count;
	if (read) *read = 0;
	return MA_ERROR;
}

MA_API ma_result ma_decoder_uninit(ma_decoder *decoder)
{
	(void)decoder;
	return MA_SUCCESS;
}

MA_API ma_encoder_config ma_encoder_config_init(ma_encoding_format encodingFormat, ma_format format, ma_uint32 channels, ma_uint32 sampleRate)
{
	ma_encoder_config c;
	c.encodingFormat = encodingFormat;
	c.format = format;
	c.channels = channels;
	c.sampleRate = sampleRate;
	return c;
}

MA_API ma_result ma_encoder_init_file(const char *path, const ma_encoder_config *config, ma_encoder *encoder)
{
	(void)path; (void)config; (void)encoder;
	return MA_ERROR;
}

MA_API ma_result ma_encoder_write_pcm_frames(ma_encoder *encoder, const void *frames, ma_uint64 count, ma_uint64 *written)
{
	(void)encoder; (void)frames; (void)count;
	if (written) *written = 0;
	return MA_ERROR;
}

MA_API ma_result ma_encoder_uninit(ma_encoder *encoder)
{
	(void)encoder;
	return MA_SUCCESS;
}

#endif /* BATOS_MINIAUDIO_STANDIN_H */
