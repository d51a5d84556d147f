package llama

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// BackendEnv names the environment variable that LoadBackendFromEnv reads:
// the absolute path of a ggml backend library such as libggml-cuda.so.
const BackendEnv = "BATOS_GGML_BACKEND"

// DeviceType is the kind of a ggml device.
type DeviceType int

// Device types, as ggml numbers them.
const (
	DeviceCPU   DeviceType = 0 // host CPU, system memory
	DeviceGPU   DeviceType = 1 // GPU with its own memory
	DeviceIGPU  DeviceType = 2 // integrated GPU using host memory
	DeviceAccel DeviceType = 3 // accelerator used together with the CPU
)

// String returns "CPU", "GPU", "IGPU" or "ACCEL".
func (t DeviceType) String() string {
	switch t {
	case DeviceCPU:
		return "CPU"
	case DeviceGPU:
		return "GPU"
	case DeviceIGPU:
		return "IGPU"
	case DeviceAccel:
		return "ACCEL"
	}
	return fmt.Sprintf("DeviceType(%d)", int(t))
}

// Device is a compute device registered with ggml.
type Device struct {
	Index       int        // position in ggml's device list
	Name        string     // e.g. "CPU", "CUDA0"
	Description string     // e.g. the GPU's model name
	Backend     string     // registering backend, e.g. "CPU", "CUDA"
	Type        DeviceType // CPU, GPU, integrated GPU or accelerator
	FreeMemory  uint64     // bytes, as the backend reports them
	TotalMemory uint64     // bytes
}

var backends struct {
	mu     sync.Mutex
	loaded map[string]bool
}

// Devices lists the registered devices. On a machine without a loaded GPU
// backend this is just the CPU.
func Devices() []Device {
	initBackend()
	return cDevices()
}

// LoadBackend loads and registers a ggml backend library (for example
// libggml-cuda.so, built against the same ggml as this binary) from an
// absolute path. Loading the same path twice is a no-op. Models opened
// afterwards can offload layers to its devices (ModelOptions.GPULayers).
func LoadBackend(path string) ([]Device, error) {
	initBackend()
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("%w: %q is not an absolute path", ErrBackend, path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackend, err)
	}
	backends.mu.Lock()
	defer backends.mu.Unlock()
	if !backends.loaded[path] {
		if cBackendLoad(path) == nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrBackend, path, lastCError())
		}
		if backends.loaded == nil {
			backends.loaded = map[string]bool{}
		}
		backends.loaded[path] = true
	}
	return cDevices(), nil
}

// LoadBackendFromEnv loads the backend named by BATOS_GGML_BACKEND. It
// returns the devices, and nil error when the variable is unset (CPU only).
func LoadBackendFromEnv() ([]Device, error) {
	p := os.Getenv(BackendEnv)
	if p == "" {
		return Devices(), nil
	}
	return LoadBackend(p)
}
