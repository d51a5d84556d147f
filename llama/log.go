package llama

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Log levels of llama.cpp and ggml (ggml_log_level).
const (
	cLogDebug = 1
	cLogInfo  = 2
	cLogWarn  = 3
	cLogError = 4
	cLogCont  = 5
)

// cLog assembles llama.cpp's log fragments into lines and hands each line
// to slog.Default. llama.cpp's INFO chatter (hundreds of lines per model
// load) is logged at slog.LevelDebug; warnings and errors keep their level.
var cLog struct {
	mu    sync.Mutex
	level slog.Level
	buf   strings.Builder
	last  string // last complete error line, see lastCError
}

func logC(level int, text string) {
	cLog.mu.Lock()
	defer cLog.mu.Unlock()
	if level != cLogCont {
		cLog.level = slogLevel(level)
	}
	cLog.buf.WriteString(text)
	s := cLog.buf.String()
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		return
	}
	cLog.buf.Reset()
	cLog.buf.WriteString(s[i+1:])
	for line := range strings.SplitSeq(s[:i], "\n") {
		if line == "" {
			continue
		}
		if cLog.level >= slog.LevelError {
			cLog.last = line
		}
		level := cLog.level
		if strings.HasSuffix(line, ": graph reuse disabled") {
			level = slog.LevelDebug // our own doing, on every context (cgo.go)
		}
		if strings.Contains(line, "cannot use buft 'CPU_REPACK', fallback to CPU") {
			// Every tensor of an adapter on a model whose CPU weights are
			// repacked (the Makefile's -DGGML_USE_CPU_REPACK): adapters
			// stay in plain CPU memory, as they should.
			level = slog.LevelDebug
		}
		slog.Default().Log(context.Background(), level, line, "source", "llama.cpp")
	}
}

// lastCError returns and forgets the last error line llama.cpp logged, to
// enrich an error returned by a failed C call. It is best effort: another
// goroutine's error can interleave.
func lastCError() string {
	cLog.mu.Lock()
	defer cLog.mu.Unlock()
	s := cLog.last
	cLog.last = ""
	return s
}

func slogLevel(level int) slog.Level {
	switch level {
	case cLogError:
		return slog.LevelError
	case cLogWarn:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}
