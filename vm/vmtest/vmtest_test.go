package vmtest_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

func TestOpenAndModel(t *testing.T) {
	m := &vmtest.Model{}
	v, _ := vmtest.Open(t, vm.Options{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	res, err := v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	if err != nil || !res.Mission {
		t.Fatalf("%+v %v", res, err)
	}
	rec, err := v.WaitCycle(ctx, res.Cycle)
	if err != nil || rec.Status != vm.StatusComplete {
		t.Fatalf("%+v %v", rec, err)
	}
	calls := m.Calls()
	last := calls[len(calls)-1]
	if got := vmtest.MethodHeader(last.Grammar); got != "def display_yourself(self):" {
		t.Errorf("MethodHeader = %q", got)
	}
	if !strings.HasPrefix(calls[0].JSONSchema, "{") || calls[0].Persona != "BRICK" {
		t.Errorf("first call %+v", calls[0])
	}
}

func TestCheckTrace(t *testing.T) {
	want := []string{"a", "b", "c"}
	for log, ok := range map[string]bool{"a\nb\nc": true, "xa b yc": true, "a c b": false, "a b": false, "": false} {
		if err := vmtest.CheckTrace(log, want); (err == nil) != ok {
			t.Errorf("CheckTrace(%q) = %v, want ok=%v", log, err, ok)
		}
	}
}
