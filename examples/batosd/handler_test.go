package main

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/catalog"
	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
	"github.com/batos/batos/vm/vmtest"
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

// TestErrorCodes checks that every exported sentinel error of the
// packages whose errors reach the bridge gets the code it got from the
// switch that errorCode replaced, and that no sentinel is missing from
// the table: a new one fails here until it is given a code.
func TestErrorCodes(t *testing.T) {
	codes := map[string]struct {
		err  error
		code string
	}{
		"object.ErrNotFound":      {object.ErrNotFound, wire.CodeNotFound},
		"object.ErrNotUnderstood": {object.ErrNotUnderstood, wire.CodeInternal},
		"object.ErrConflict":      {object.ErrConflict, wire.CodeBusy},
		"object.ErrCorrupt":       {object.ErrCorrupt, wire.CodeInternal},
		"object.ErrClosed":        {object.ErrClosed, wire.CodeUnavailable},
		"object.ErrDoomed":        {object.ErrDoomed, wire.CodeInternal},
		"object.ErrReadOnly":      {object.ErrReadOnly, wire.CodeInternal},
		"object.ErrInvalid":       {object.ErrInvalid, wire.CodeBadRequest},
		"object.ErrSavepoint":     {object.ErrSavepoint, wire.CodeInternal},
		"object.ErrDiskFull":      {object.ErrDiskFull, wire.CodeUnavailable},
		"object.ErrStorage":       {object.ErrStorage, wire.CodeUnavailable},

		"vm.ErrClosed":           {vm.ErrClosed, wire.CodeUnavailable},
		"vm.ErrQueueFull":        {vm.ErrQueueFull, wire.CodeBusy},
		"vm.ErrUnknownPrimitive": {vm.ErrUnknownPrimitive, wire.CodeInternal},
		"vm.ErrNoRunner":         {vm.ErrNoRunner, wire.CodeInternal},
		"vm.ErrNoModel":          {vm.ErrNoModel, wire.CodeUnavailable},
		"vm.ErrBadSelector":      {vm.ErrBadSelector, wire.CodeBadRequest},
		"vm.ErrNoCycle":          {vm.ErrNoCycle, wire.CodeNotFound},
		"vm.ErrNotCallable":      {vm.ErrNotCallable, wire.CodeBadRequest},
		"vm.ErrAudit":            {vm.ErrAudit, wire.CodeBadRequest},
		"vm.ErrBadPlan":          {vm.ErrBadPlan, wire.CodeInternal},
		"vm.ErrStarted":          {vm.ErrStarted, wire.CodeInternal},
		"vm.ErrNoBlob":           {vm.ErrNoBlob, wire.CodeInternal},
		"vm.ErrTrial":            {vm.ErrTrial, wire.CodeInternal},
		"vm.ErrContextTooSmall":  {vm.ErrContextTooSmall, wire.CodeInternal},
		"vm.ErrBatchMismatch":    {vm.ErrBatchMismatch, wire.CodeInternal},

		"vm.ErrUnknownCapability": {vm.ErrUnknownCapability, wire.CodeNotFound},
		"vm.ErrCapabilityArgs":    {vm.ErrCapabilityArgs, wire.CodeBadRequest},
		"vm.ErrCapabilityBudget":  {vm.ErrCapabilityBudget, wire.CodeTooLarge},
		"vm.ErrCapabilitySkipped": {vm.ErrCapabilitySkipped, wire.CodeBadRequest},

		"sandbox.ErrCovenant":   {sandbox.ErrCovenant, wire.CodeBadRequest},
		"sandbox.ErrSteps":      {sandbox.ErrSteps, wire.CodeBadRequest},
		"sandbox.ErrMemory":     {sandbox.ErrMemory, wire.CodeTooLarge},
		"sandbox.ErrCanceled":   {sandbox.ErrCanceled, wire.CodeTimeout},
		"sandbox.ErrDepth":      {sandbox.ErrDepth, wire.CodeBadRequest},
		"sandbox.ErrOutput":     {sandbox.ErrOutput, wire.CodeTooLarge},
		"sandbox.ErrFailed":     {sandbox.ErrFailed, wire.CodeBadRequest},
		"sandbox.ErrRejected":   {sandbox.ErrRejected, wire.CodeBadRequest},
		"sandbox.ErrWorker":     {sandbox.ErrWorker, wire.CodeInternal},
		"sandbox.ErrClosed":     {sandbox.ErrClosed, wire.CodeUnavailable},
		"sandbox.ErrCapability": {sandbox.ErrCapability, wire.CodeBadRequest},

		"catalog.ErrDimension":  {catalog.ErrDimension, wire.CodeInternal},
		"catalog.ErrNoEmbedder": {catalog.ErrNoEmbedder, wire.CodeInternal},
		"catalog.ErrCorrupt":    {catalog.ErrCorrupt, wire.CodeInternal},
		"catalog.ErrMode":       {catalog.ErrMode, wire.CodeBadRequest},
		"catalog.ErrEmptyDocID": {catalog.ErrEmptyDocID, wire.CodeBadRequest},

		"catalog.ErrEmbedderChanged": {catalog.ErrEmbedderChanged, wire.CodeUnavailable},

		// guardian's rejection reaches clients inside vm.AuditError or
		// sandbox.ErrRejected, which carry the code; bare, it is internal.
		"guardian.ErrRejected": {guardian.ErrRejected, wire.CodeInternal},
	}
	dirs := map[string]string{"object": "../../object", "vm": "../../vm", "sandbox": "../../vm/sandbox",
		"catalog": "../../catalog", "guardian": "../../guardian"}
	for pkg, dir := range dirs {
		for _, name := range sentinels(t, dir) {
			if _, ok := codes[pkg+"."+name]; !ok {
				t.Errorf("%s.%s has no entry in this table: give it a code (and a Code method, see %s/errors.go)", pkg, name, dir)
			}
		}
	}
	for name, c := range codes {
		if got := errorCode(fmt.Errorf("handler: %w", c.err)); got != c.code {
			t.Errorf("%s: code %q, want %q", name, got, c.code)
		}
		if !errors.Is(fmt.Errorf("x: %w", c.err), c.err) {
			t.Errorf("%s is not comparable with errors.Is", name)
		}
	}
}

// sentinels returns the exported package-level Err* variables declared
// in dir's non-test Go files.
func sentinels(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// TestErrorCodesCompound checks the errors that wrap others: their codes
// are those the replaced switch gave them.
func TestErrorCodesCompound(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		code string
	}{
		{"canceled call, deadline", fmt.Errorf("%w: %w", sandbox.ErrCanceled, context.DeadlineExceeded), wire.CodeTimeout},
		{"canceled call, shutdown", fmt.Errorf("%w: %w", sandbox.ErrCanceled, context.Canceled), wire.CodeUnavailable},
		{"audit", &vm.AuditError{Selector: "m", Err: fmt.Errorf("%w: finding", guardian.ErrRejected)}, wire.CodeBadRequest},
		{"trial over memory", &vm.TrialError{Selector: "m", Err: sandbox.ErrMemory}, wire.CodeTooLarge},
		{"trial over steps", &vm.TrialError{Selector: "m", Err: sandbox.ErrSteps}, wire.CodeBadRequest},
		{"trial, other", &vm.TrialError{Selector: "m", Err: errors.New("boom")}, wire.CodeInternal},
		{"context too small", &vm.ContextError{Persona: "BRICK", Need: 9, Context: 8}, wire.CodeInternal},
		{"method failed", &sandbox.MethodError{Selector: "m"}, wire.CodeBadRequest},
		{"method's primitive found nothing", &sandbox.MethodError{Selector: "m", Err: object.ErrNotFound}, wire.CodeNotFound},
		{"method's primitive, corrupt", &sandbox.MethodError{Selector: "m", Err: object.ErrCorrupt}, wire.CodeBadRequest},
		{"rejected by the sandbox's audit", fmt.Errorf("%w: %w", sandbox.ErrRejected, guardian.ErrRejected), wire.CodeBadRequest},
		{"not understood", &object.NotUnderstoodError{OID: 1, Slot: "x"}, wire.CodeInternal},
		{"corrupt value", &object.CorruptError{Key: []byte("k")}, wire.CodeInternal},
		{"bad argument", fmt.Errorf("%w: args", errBadArgument), wire.CodeBadRequest},
		{"wait deadline", fmt.Errorf("%w: cycle 1", errWaitDeadline), wire.CodeDeadlineExceeded},
	} {
		if got := errorCode(fmt.Errorf("handler: %w", c.err)); got != c.code {
			t.Errorf("%s: code %q, want %q", c.name, got, c.code)
		}
	}
}

// bridgeHandler serves a handler on a VM with the fake model over a
// bridge server with one worker and room for one held wait.
func bridgeHandler(t *testing.T, m *vmtest.Model) *bridge.Client {
	t.Helper()
	v, store := vmtest.Open(t, vm.Options{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1}})
	h := &handler{vm: v, store: store, started: time.Now(), version: "test"}
	srv, err := bridge.NewServer(h, bridge.Options{Endpoint: "tcp://127.0.0.1:*", Workers: 1, MaxWaits: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	c, err := bridge.Dial(context.Background(), srv.Endpoint(), bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before the VM's cleanup
		c.Close()
		srv.Close()
		<-done
	})
	return c
}

func callReply(t *testing.T, c *bridge.Client, req *wire.Request) *wire.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := c.Call(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Command, err)
	}
	return rep
}

func TestWaitCycle(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	m := &vmtest.Model{Script: func(g vm.Generation) (string, error) {
		if g.Persona == "BRICK" {
			<-release
		}
		return "", nil
	}}
	c := bridgeHandler(t, m)
	t.Cleanup(unblock) // runs before the VM closes

	rep := callReply(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named(vm.RootGenesis), MessageName: "display_yourself"})
	ms, ok := rep.Result.Mission()
	if rep.Err() != nil || !ok || ms.CycleID == "" || ms.Target == 0 {
		t.Fatalf("dispatch: %+v", rep)
	}
	wait := func(id string, ms int64) *wire.Request {
		return &wire.Request{Command: wire.CmdWaitCycle, CycleID: id, TimeoutMS: ms}
	}
	for _, tc := range []struct {
		name string
		req  *wire.Request
		code string
	}{
		{"deadline", wait(ms.CycleID, 50), wire.CodeDeadlineExceeded},
		{"unknown cycle", wait("999999", 50), wire.CodeNotFound},
		{"bad id", wait("first", 50), wire.CodeBadRequest},
		{"no id", &wire.Request{Command: wire.CmdWaitCycle}, wire.CodeBadRequest},
	} {
		if rep := callReply(t, c, tc.req); rep.Status != wire.StatusError || rep.Code != tc.code {
			t.Errorf("%s: %+v, want code %s", tc.name, rep, tc.code)
		}
	}

	// A long wait holds the only wait slot, not the only worker.
	held := make(chan *wire.Reply, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			rep, err := c.Call(ctx, wait(ms.CycleID, 30_000))
			if err != nil {
				rep = wire.Errorf("transport", "%v", err)
			}
			if rep.Code != wire.CodeBusy { // busy: a probe below held the slot
				held <- rep
				return
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// A probe that holds the slot for no time: the cycle is unknown.
		rep := callReply(t, c, wait("999999", 1))
		if rep.Code == wire.CodeBusy {
			break
		}
		if rep.Code != wire.CodeNotFound || time.Now().After(deadline) {
			t.Fatalf("second wait: %+v, want busy while the first is held", rep)
		}
	}
	for _, req := range []*wire.Request{{Command: wire.CmdStatus}, {Command: wire.CmdInspect, Target: wire.Named(vm.RootGenesis)}} {
		if rep := callReply(t, c, req); rep.Err() != nil {
			t.Fatalf("%s while a wait is held: %v", req.Command, rep.Err())
		}
	}
	select {
	case rep := <-held:
		t.Fatalf("the wait ended before the cycle: %+v", rep)
	default:
	}

	unblock()
	rep = <-held
	var info wire.CycleInfo
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rep.Result.Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.ID != ms.CycleID || info.State != "COMPLETE" || info.Result == nil || info.Result.Outcome == "" ||
		len(info.Transitions) == 0 || info.MissionBrief.Selector != "display_yourself" {
		t.Fatalf("waited for %+v", info)
	}
	var total int64
	for _, tr := range info.Transitions {
		total += tr.DurationUS
	}
	if total <= 0 {
		t.Errorf("transitions without durations: %+v", info.Transitions)
	}
	// An ended cycle is answered at once.
	if rep := callReply(t, c, wait(ms.CycleID, 1)); rep.Err() != nil {
		t.Fatalf("wait on an ended cycle: %v", rep.Err())
	}
}

func TestSetSlotReferences(t *testing.T) {
	c := bridgeHandler(t, &vmtest.Model{})
	inspect := func(target string) wire.ObjectInfo {
		t.Helper()
		rep := callReply(t, c, &wire.Request{Command: wire.CmdInspect, Target: wire.Named(target)})
		var info wire.ObjectInfo
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		if err := rep.Result.Decode(&info); err != nil {
			t.Fatal(err)
		}
		return info
	}
	traits := inspect(vm.RootTraits).OID
	set := func(target, slot string, v any) *wire.Reply {
		return callReply(t, c, &wire.Request{Command: wire.CmdSetSlot, Target: wire.Named(target), Slot: slot, Value: wire.Value{V: v}})
	}
	if rep := set(vm.RootGenesis, "friend", wire.RefValue(traits)); rep.Err() != nil {
		t.Fatalf("set a reference: %v", rep.Err())
	}
	if rep := set(vm.RootGenesis, "extra*", wire.List{wire.RefValue(traits)}); rep.Err() != nil {
		t.Fatalf("set a parent slot: %v", rep.Err())
	}
	info := inspect(vm.RootGenesis)
	var friend any
	for _, s := range info.Slots {
		if s.Name == "friend" {
			friend = s.Value.V
		}
	}
	if oid, ok, err := wire.AsRefValue(friend); !ok || err != nil || oid != traits {
		t.Errorf("friend reads back as %#v, want a reference to %d", friend, traits)
	}
	if !slices.Contains(info.Parents, wire.ByNumber(traits)) {
		t.Errorf("parents %v lack %d", info.Parents, traits)
	}
	for _, tc := range []struct {
		name, target, slot string
		value              any
		code               string
	}{
		{"dangling reference", vm.RootGenesis, "friend", wire.RefValue(999999), wire.CodeNotFound},
		{"dangling parent", vm.RootGenesis, "extra*", wire.RefValue(999999), wire.CodeNotFound},
		{"negative oid", vm.RootGenesis, "friend", wire.Map{"oid": int64(-1)}, wire.CodeBadRequest},
		{"parent slot of data", vm.RootGenesis, "extra*", int64(3), wire.CodeBadRequest},
		{"unwire the state machine", "psm_prototypes_obj", "IDLE", int64(5), wire.CodeBadRequest},
	} {
		if rep := set(tc.target, tc.slot, tc.value); rep.Status != wire.StatusError || rep.Code != tc.code {
			t.Errorf("%s: %+v, want code %s", tc.name, rep, tc.code)
		}
	}
	// A message cannot carry a dangling reference either.
	rep := callReply(t, c, &wire.Request{Command: wire.CmdDispatchMessage, Target: wire.Named(vm.RootGenesis),
		MessageName: "display_yourself", Args: wire.List{wire.RefValue(999999)}})
	if rep.Code != wire.CodeNotFound {
		t.Errorf("dispatch with a dangling reference: %+v", rep)
	}
}
