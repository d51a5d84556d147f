package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/object/objecttest"
)

// watchDisk warns once when free space is below its threshold.
func TestWatchDiskWarns(t *testing.T) {
	store := objecttest.OpenDir(t, object.Options{})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	watchDisk(ctx, log, store, 1<<62, 10*time.Millisecond) // no disk has 4 EiB free
	if n := strings.Count(buf.String(), "disk space is low"); n != 1 {
		t.Errorf("%d warnings:\n%s", n, buf.String())
	}
	buf.Reset()
	watchDisk(ctx, log, store, 0, time.Millisecond) // ctx is done: one check, no warning
	if strings.Contains(buf.String(), "low") {
		t.Errorf("warned with a zero threshold:\n%s", buf.String())
	}
}
