package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
)

func TestErrorReply(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("dispatch: %w", err) }
	cases := []struct {
		err  error
		code string
	}{
		{wrap(object.ErrNotFound), wire.CodeNotFound},
		{wrap(vm.ErrNoCycle), wire.CodeNotFound},
		{wrap(vm.ErrQueueFull), wire.CodeBusy},
		{wrap(object.ErrConflict), wire.CodeBusy},
		{wrap(sandbox.ErrMemory), wire.CodeTooLarge},
		{wrap(sandbox.ErrOutput), wire.CodeTooLarge},
		{wrap(context.DeadlineExceeded), wire.CodeTimeout},
		{wrap(vm.ErrClosed), wire.CodeUnavailable},
		{wrap(sandbox.ErrClosed), wire.CodeUnavailable},
		{wrap(context.Canceled), wire.CodeUnavailable},
		{wrap(vm.ErrBadSelector), wire.CodeBadRequest},
		{wrap(sandbox.ErrSteps), wire.CodeBadRequest},
		{wrap(sandbox.ErrCovenant), wire.CodeBadRequest},
		{wrap(&sandbox.MethodError{}), wire.CodeBadRequest},
		{wrap(fmt.Errorf("disk on fire")), wire.CodeInternal},
	}
	for _, c := range cases {
		rep := errorReply(c.err)
		if rep.Status != wire.StatusError || rep.Code != c.code || rep.Message == "" {
			t.Errorf("errorReply(%v) = %+v, want code %s", c.err, rep, c.code)
		}
	}
}

func TestToWireDepth(t *testing.T) {
	var v object.Value = object.Int(1)
	for range 40 {
		v = object.List{v}
	}
	// The result must encode: the wire format refuses more than MaxDepth.
	if _, err := (wire.Value{V: toWire(v)}).MarshalMsg(nil); err != nil {
		t.Fatalf("deep value does not encode: %v", err)
	}
}
