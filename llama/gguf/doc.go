// Package gguf reads, writes and generates GGUF files, the model format
// of llama.cpp. It is pure Go (builds with CGO_ENABLED=0).
//
// # Reading
//
// Open (or Read, on any io.ReaderAt) parses and validates a GGUF v2/v3
// file: magic, version, every count and length against the bytes left in
// the file, value and tensor types, tensor names and shapes, the
// alignment, and tensor data offsets (in order, aligned, inside the
// file). Malformed input gives an error wrapping ErrMagic, ErrVersion,
// ErrTruncated or ErrInvalid (a *FormatError carries the offset), never a
// panic, and allocation is bounded by the file's real size, not by what
// its header claims. Metadata is a list of KV pairs with typed accessors;
// tensor data is read on demand (File.TensorData, File.Float32s).
//
// # Checking a file for llama.cpp
//
// Check (CheckHeader on any io.Reader) walks only the header and rejects
// what would make llama.cpp abort the process rather than return an
// error: empty or repeated keys, a bad general.alignment, keys llama.cpp
// reads with type-asserting getters holding another type, zero tensor
// dimensions, repeated token strings, vocabulary arrays of the wrong type
// or length, and lengths past the end of the file. It is what package
// llama runs before every load. It is lenient where llama.cpp checks for
// itself (tensor types it does not know, tensor offsets and data), cheap
// (tensor data and string values are skipped unread) and safe on hostile
// input like Read. ValidateLlama checks, on a File from Read, that a
// model is a complete Llama; it applies Check's vocabulary rules too.
//
// # Writing
//
// NewWriter writes the header of a file whose metadata and tensor infos
// are known up front; tensor data is then streamed through Write in
// declaration order, so files larger than memory can be produced. Encode
// and Decode convert float32 values to and from F32, F16, Q8_0 and Q4_K
// blocks (the quantizers are this package's own, written from the block
// layouts).
//
// # Generating
//
// WriteLlama writes a random Llama model that llama.cpp loads and runs:
// TinyLlama for tests (about half a megabyte, milliseconds to load) and
// Llama8BShape for GPU benchmarks (Llama-3.1-8B dimensions, Q4_K, about
// 4.2 GiB, streamed). Its vocabulary (ByteVocab) is SentencePiece-style
// with byte fallback, so every byte string tokenizes and any character a
// grammar requires can be sampled, plus the Llama 3.1 chat control
// tokens; the TokenID constants give the ids. WriteLoRA writes a random
// LoRA adapter for such a model. WriteBERT writes a random BERT sentence
// embedding model (architecture "bert", non-causal, bert.pooling_type)
// with a WordPiece vocabulary in llama.cpp's convention (WordPieceVocab:
// [PAD], [UNK], [CLS], [SEP], [MASK] at BERT's ids): TinyBERT for
// reference tests, MiniLMShape (all-MiniLM-L6-v2's dimensions, 384 wide)
// for the demo. Output is deterministic for a seed.
//
// # Concurrency
//
// A File may be read from several goroutines. A Writer and a
// Q4KQuantizer belong to one goroutine. The generators are safe to call
// concurrently (they use parallel workers internally).
//
// # Caveats
//
// Nested metadata arrays are rejected (llama.cpp rejects them too).
// Tensor types other than F32, F16, Q8_0 and Q4_K are carried as raw
// bytes; the IQ* types are not known at all. Files are read as
// little-endian.
package gguf
