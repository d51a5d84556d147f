package llama

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/batos/batos/llama/gguf"
	ollama "github.com/ollama/ollama/llama"
)

// Token is a llama.cpp token id.
type Token int32

// ModelOptions configures Open. The zero value loads the model on the CPU
// with mmap.
type ModelOptions struct {
	// GPULayers is how many repeating layers to offload to GPU devices
	// (0: none; a negative value or more than the model has: all layers
	// and the output layer). It only matters after LoadBackend.
	GPULayers int
	// MainGPU is the GPU used for scratch buffers and, with one device,
	// the whole model.
	MainGPU int
	// TensorSplit is the share of layers per GPU device, in Devices order
	// (nil: proportional to free memory).
	TensorSplit []float32
	// NoMmap reads the file into memory instead of mapping it.
	NoMmap bool
	// Mlock would lock the model in RAM. ollama's wrapper
	// (github.com/ollama/ollama@v0.17.4) no longer passes llama.cpp's
	// use_mlock, so Open refuses it with ErrUnsupported.
	Mlock bool
	// Threads is the default thread count of this model's sessions
	// (0: runtime.NumCPU()). Use no more threads than there are idle
	// cores: ggml's worker threads spin at a barrier after each operation,
	// and on cores shared with other busy processes that can slow decoding
	// by orders of magnitude (see BENCHMARKS.md).
	Threads int
	// Progress, if set, is called with the load progress in [0,1] from
	// the loading goroutine.
	Progress func(float32)
}

// Info describes a loaded model.
type Info struct {
	Architecture  string // general.architecture, e.g. "llama"
	Name          string // general.name, may be empty
	Description   string // llama.cpp's one-line description (type, size, quantization)
	Params        uint64 // number of parameters
	Size          uint64 // bytes of tensor data
	Layers        int    // repeating layers (blocks)
	EmbeddingSize int    // width of the hidden state (and of Embed's vectors)
	Heads         int    // attention heads
	ContextLength int    // training context length
	VocabSize     int    // tokens in the vocabulary
	BOS, EOS      Token  // beginning- and end-of-sequence tokens
	// Placement is where the repeating layers live, one entry per device
	// holding at least one, in device order; OutputDevice holds the output
	// layer. It is computed with llama.cpp's own split rule.
	Placement    []DeviceLayers
	OutputDevice string
}

// DeviceLayers is a device and how many of the model's layers it holds.
type DeviceLayers struct {
	Device string // device name, "CPU" for the host
	Layers int    // repeating layers on it
}

// Model is a loaded GGUF model: weights, vocabulary and the adapters loaded
// for it. It is safe for concurrent use; generation happens in Sessions,
// which are not. Close it after closing its sessions.
type Model struct {
	om      *ollama.Model
	c       cptr
	vocab   cptr
	info    Info
	threads int

	headK  int // key and value head sizes
	headV  int
	pieces [][]byte // token → bytes (special tokens render empty)

	// The vocabulary decoded for the grammar filter, built by the first
	// sampler with a grammar and freed by Close (no session is left then).
	vindexOnce sync.Once
	vindex     cVocabIndex

	// decodeLock serializes the model's decodes (decodeSem; nil: none,
	// set only by the tests).
	decodeLock chan struct{}

	life     sync.RWMutex // read-held by LoadAdapter while llama.cpp reads a file; Close takes it
	mu       sync.Mutex
	closed   bool
	sessions int
	adapters map[string]*Adapter
}

var initOnce sync.Once

func initBackend() { initOnce.Do(cInit) }

// Open loads the GGUF model at path. The load itself cannot be interrupted;
// ctx is checked before it starts.
func Open(ctx context.Context, path string, o ModelOptions) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Mlock {
		return nil, fmt.Errorf("%w: ModelOptions.Mlock (ollama's model parameters have no use_mlock)", ErrUnsupported)
	}
	initBackend()
	if err := gguf.Check(path); err != nil { // what would abort llama.cpp
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	ngl := o.GPULayers
	if ngl < 0 {
		ngl = 1 << 20
	}
	// ollama's LoadModelFromFile leaks the C copy of the path (len+1 bytes
	// per Open); acceptable for a once-per-process call.
	om, err := ollama.LoadModelFromFile(path, ollama.ModelParams{
		NumGpuLayers: ngl,
		MainGpu:      o.MainGPU,
		UseMmap:      !o.NoMmap,
		TensorSplit:  o.TensorSplit,
		Progress:     o.Progress,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrBadModel, path, lastCError())
	}
	m := &Model{om: om, c: firstPtr(om), threads: o.Threads, adapters: map[string]*Adapter{}}
	if m.threads <= 0 {
		m.threads = runtime.NumCPU()
	}
	m.vocab = cModelVocab(m.c)
	m.info = Info{
		Description:   cDesc(m.c),
		Params:        cNParams(m.c),
		Size:          cModelSize(m.c),
		Layers:        cNLayer(m.c),
		EmbeddingSize: cNEmbd(m.c),
		Heads:         cNHead(m.c),
		ContextLength: cNCtxTrain(m.c),
		VocabSize:     cNVocab(m.vocab),
		BOS:           cBOS(m.vocab),
		EOS:           cEOS(m.vocab),
	}
	m.info.Architecture, _ = cMeta(m.c, "general.architecture")
	m.info.Name, _ = cMeta(m.c, "general.name")
	m.headK = m.metaInt(m.info.Architecture+".attention.key_length", m.info.EmbeddingSize/max(m.info.Heads, 1))
	m.headV = m.metaInt(m.info.Architecture+".attention.value_length", m.headK)
	var gpus []string
	for _, d := range Devices() {
		if d.Type == DeviceGPU {
			gpus = append(gpus, d.Name)
		}
	}
	m.info.Placement, m.info.OutputDevice = placement(m.info.Layers, ngl, o.TensorSplit, gpus)
	m.decodeLock = decodeSem
	m.buildPieces()
	return m, nil
}

// metaInt returns an integer metadata value, or def.
func (m *Model) metaInt(key string, def int) int {
	v, ok := cMeta(m.c, key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

func (m *Model) buildPieces() {
	n := m.info.VocabSize
	m.pieces = make([][]byte, n)
	buf := make([]byte, 64)
	for t := range n {
		m.pieces[t] = m.piece(Token(t), buf, false)
	}
}

func (m *Model) piece(t Token, buf []byte, special bool) []byte {
	n := cPiece(m.vocab, t, buf, special)
	if n < 0 {
		buf = make([]byte, -n)
		n = cPiece(m.vocab, t, buf, special)
	}
	if n <= 0 {
		return nil
	}
	return bytes.Clone(buf[:n])
}

// placement reproduces llama.cpp's layer split (llama_model::load_tensors):
// the last ngl layers go to the GPU devices in proportion to split.
func placement(nLayer, ngl int, split []float32, gpus []string) ([]DeviceLayers, string) {
	counts := map[string]int{}
	order := []string{"CPU"}
	if len(gpus) == 0 {
		ngl = 0
	}
	act := min(ngl, nLayer+1)
	start := max(nLayer-ngl, 0)
	cum := make([]float32, len(gpus))
	var sum float32
	for i := range gpus {
		if i < len(split) {
			sum += split[i]
		} else if len(split) == 0 {
			sum++
		}
		cum[i] = sum
	}
	output := "CPU"
	for il := 0; il <= nLayer; il++ {
		dev := "CPU"
		if il >= start && il-start < act && sum > 0 {
			f := float32(il-start) / float32(act) * sum
			g := sort.Search(len(cum), func(i int) bool { return cum[i] > f })
			dev = gpus[min(g, len(gpus)-1)]
		}
		if il == nLayer {
			output = dev
			break
		}
		if counts[dev] == 0 && dev != "CPU" {
			order = append(order, dev)
		}
		counts[dev]++
	}
	var out []DeviceLayers
	for _, d := range order {
		if counts[d] > 0 {
			out = append(out, DeviceLayers{Device: d, Layers: counts[d]})
		}
	}
	return out, output
}

// Info returns the model's description.
func (m *Model) Info() Info {
	i := m.info
	i.Placement = append([]DeviceLayers(nil), i.Placement...)
	return i
}

// Tokenize converts text to tokens. With special set it adds the BOS token
// (when the vocabulary asks for one) and parses special tokens such as
// <|eot_id|> written in the text.
func (m *Model) Tokenize(text string, special bool) ([]Token, error) {
	if err := m.alive(); err != nil {
		return nil, err
	}
	return m.tokenize(text, special), nil
}

func (m *Model) tokenize(text string, special bool) []Token {
	return m.tokenizeWith(text, special, special)
}

// tokenizeWith tokenizes text, adding the vocabulary's BOS/EOS (or
// [CLS]/[SEP]) tokens with addSpecial and reading special tokens written
// in the text with parseSpecial.
func (m *Model) tokenizeWith(text string, addSpecial, parseSpecial bool) []Token {
	b := []byte(text)
	out := make([]Token, len(b)+2)
	n := cTokenize(m.vocab, b, out, addSpecial, parseSpecial)
	if n < 0 {
		out = make([]Token, -n)
		n = cTokenize(m.vocab, b, out, addSpecial, parseSpecial)
	}
	return out[:max(n, 0)]
}

// Detokenize converts tokens to text. Bytes that do not form valid UTF-8
// (a token sequence cut inside a character) become U+FFFD; special tokens
// render as nothing. Out-of-range tokens are an error.
func (m *Model) Detokenize(tokens []Token) (string, error) {
	var b []byte
	for _, t := range tokens {
		if t < 0 || int(t) >= len(m.pieces) {
			return "", fmt.Errorf("%w: token %d out of range", ErrBadRequest, t)
		}
		b = append(b, m.pieces[t]...)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), nil
}

// IsEOG reports whether t ends generation (end of sequence or of turn).
// On a closed model it is false: the vocabulary is gone.
func (m *Model) IsEOG(t Token) bool {
	return m.alive() == nil && m.isEOG(t)
}

// isEOG is IsEOG for sessions, which keep the model open.
func (m *Model) isEOG(t Token) bool {
	return t >= 0 && int(t) < len(m.pieces) && cIsEOG(m.vocab, t)
}

func (m *Model) alive() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

// Close frees the model and every adapter loaded for it. It returns
// ErrInUse while sessions are open, and ErrClosed the second time.
func (m *Model) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.sessions > 0 {
		return ErrInUse
	}
	m.closed = true
	for name, a := range m.adapters {
		a.closed = true
		a.free()
		delete(m.adapters, name)
	}
	if m.vindex != nil {
		cVocabIndexFree(m.vindex)
		m.vindex = nil
	}
	cModelFree(m.c)
	m.c, m.vocab = nil, nil
	return nil
}

// vocabIndex returns the model's vocabulary index for grammar filtering
// (nil when it could not be built: samplers then filter through
// llama.cpp's grammar alone). Only sessions call it, so the model is open.
func (m *Model) vocabIndex() cVocabIndex {
	m.vindexOnce.Do(func() { m.vindex = cVocabIndexNew(m.vocab) })
	return m.vindex
}
