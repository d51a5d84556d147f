package llama

import "github.com/batos/batos/llama/gguf"

func writeTiny(path string) error { return gguf.WriteLlama(path, gguf.TinyLlama()) }
