package llama

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/batos/batos/llama/gguf"
)

// AdapterOptions configures LoadAdapter.
type AdapterOptions struct {
	// Name registers the adapter under a name that requests can use
	// (Request.AdapterName). Empty: the file name without extension.
	Name string
	// Scale multiplies the adapter's effect (0: 1).
	Scale float32
}

// Adapter is a LoRA adapter resident in memory for one model. Sessions
// switch between resident adapters without reloading weights. It is
// reference-counted: Close unregisters it at once and frees its memory
// when no session uses it any more. Safe for concurrent use.
type Adapter struct {
	m     *Model
	c     cptr
	name  string
	path  string
	scale float32

	// guarded by m.mu
	refs   int
	closed bool
}

// LoadAdapter loads a LoRA adapter GGUF made for this model.
func (m *Model) LoadAdapter(ctx context.Context, path string, o AdapterOptions) (*Adapter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	scale := o.Scale
	if scale == 0 {
		scale = 1
	}
	if err := gguf.Check(path); err != nil { // what would abort llama.cpp
		return nil, fmt.Errorf("%w: %w", ErrBadAdapter, err)
	}
	// Reading the file can take seconds; hold only the model's life lock
	// (which keeps Close out) while llama.cpp reads it, so generation
	// carries on meanwhile.
	m.life.RLock()
	defer m.life.RUnlock()
	if err := m.alive(); err != nil {
		return nil, err
	}
	if m.Adapter(name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrAdapterExists, name)
	}
	c := cLoraInit(m.c, path)
	if c == nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrBadAdapter, path, lastCError())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.adapters[name]; ok { // loaded meanwhile by another caller
		cLoraFree(c)
		return nil, fmt.Errorf("%w: %q", ErrAdapterExists, name)
	}
	a := &Adapter{m: m, c: c, name: name, path: path, scale: scale}
	m.adapters[name] = a
	return a, nil
}

// Adapter returns the open adapter registered under name, or nil.
func (m *Model) Adapter(name string) *Adapter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.adapters[name]
}

// Name returns the adapter's registered name.
func (a *Adapter) Name() string { return a.name }

// Scale returns the adapter's scale.
func (a *Adapter) Scale() float32 { return a.scale }

// Close unregisters the adapter; its memory is freed now or when the last
// session using it switches away or closes. ErrClosed the second time.
func (a *Adapter) Close() error {
	m := a.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	a.closed = true
	if m.adapters[a.name] == a {
		delete(m.adapters, a.name)
	}
	if a.refs == 0 {
		a.free()
	}
	return nil
}

// acquire takes a reference for a session; m.mu must not be held.
func (a *Adapter) acquire(m *Model) error {
	if a.m != m {
		return ErrAdapterModel
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.closed {
		return fmt.Errorf("adapter %q: %w", a.name, ErrClosed)
	}
	a.refs++
	return nil
}

func (a *Adapter) isClosed() bool {
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	return a.closed
}

// release drops a session's reference; m.mu must not be held.
func (a *Adapter) release() {
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	a.refs--
	if a.closed && a.refs == 0 {
		a.free()
	}
}

// free releases the C adapter; m.mu held.
func (a *Adapter) free() {
	if a.c != nil {
		cLoraFree(a.c)
		a.c = nil
	}
}
