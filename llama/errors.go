package llama

import "errors"

var (
	// ErrClosed is returned by calls on a Model, Session, Adapter or
	// Engine after Close.
	ErrClosed = errors.New("llama: closed")

	// ErrInUse is returned by Model.Close while sessions of the model are
	// still open.
	ErrInUse = errors.New("llama: model in use by open sessions")

	// ErrBadModel is returned by Open when the file is not a loadable GGUF
	// model: wrong magic, truncated, missing metadata, unsupported
	// architecture. The wrapped message carries llama.cpp's reason when it
	// logged one.
	ErrBadModel = errors.New("llama: cannot load model")

	// ErrBadAdapter is returned by LoadAdapter when the file is not a LoRA
	// adapter for this model.
	ErrBadAdapter = errors.New("llama: cannot load adapter")

	// ErrContext is returned by NewSession when llama.cpp cannot create a
	// context (for example, not enough memory for the KV cache).
	ErrContext = errors.New("llama: cannot create context")

	// ErrGrammar is returned by Generate and CompileGrammar when a GBNF
	// grammar does not parse or has no root rule, before any token is
	// generated.
	ErrGrammar = errors.New("llama: invalid grammar")

	// ErrSchema is returned by Generate and SchemaToGrammar when a JSON
	// schema is not valid JSON or cannot be converted to a grammar.
	ErrSchema = errors.New("llama: invalid JSON schema")

	// ErrPromptTooLong is returned by Generate and Embed when the prompt
	// does not fit in the session's context window.
	ErrPromptTooLong = errors.New("llama: prompt longer than context")

	// ErrEmptyPrompt is returned by Generate when the request has neither
	// messages nor a prompt.
	ErrEmptyPrompt = errors.New("llama: empty prompt")

	// ErrDecode is returned when llama_decode fails.
	ErrDecode = errors.New("llama: decode failed")

	// ErrAdapterModel is returned when a request names an adapter that was
	// loaded for another model, or an adapter name that is not loaded.
	ErrAdapterModel = errors.New("llama: adapter not loaded for this model")

	// ErrBackend is returned by LoadBackend when the library cannot be
	// loaded or registered.
	ErrBackend = errors.New("llama: cannot load backend")

	// ErrUnsupported is returned by Open for an option that the llama.cpp
	// build underneath cannot honour (ModelOptions.Mlock).
	ErrUnsupported = errors.New("llama: not supported")

	// ErrBadRequest is returned by Generate for out-of-range request
	// fields (negative MaxTokens, TopP outside [0,1], a role other than
	// system, user, assistant or ipython).
	ErrBadRequest = errors.New("llama: invalid request")
)

// ErrAdapterExists is returned by LoadAdapter when an open adapter of the
// model already has the name.
var ErrAdapterExists = errors.New("llama: adapter name in use")
