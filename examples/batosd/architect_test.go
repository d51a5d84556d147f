package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
)

const (
	greetSrc   = "def greet(self):\n    return \"hello\"\n"
	greetSrc2  = "def greet(self):\n    return \"hello again\"\n"
	noCovenant = "def greet(self):\n    self.count = 1\n    return self.count\n"
)

// The architect's and the operator's commands on the real daemon: good
// and hostile input, as the client sees them.
func TestArchitectCommands(t *testing.T) {
	endpoint := freeEndpoint(t)
	startDaemon(t, t.TempDir(), endpoint)
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := wire.Named("genesis_obj")
	for _, tc := range []struct {
		name string
		req  wire.Request
		code string // "" for ok
		msg  string // in the error message
	}{
		{"define", wire.Request{Command: wire.CmdDefineMethod, Target: g, Slot: "greet", Source: greetSrc}, "", ""},
		{"define again", wire.Request{Command: wire.CmdDefineMethod, Target: g, Slot: "greet", Source: greetSrc2}, "", ""},
		{"define without the covenant", wire.Request{Command: wire.CmdDefineMethod, Target: g, Slot: "greet", Source: noCovenant}, wire.CodeBadRequest, "_p_changed"},
		{"define a bad selector", wire.Request{Command: wire.CmdDefineMethod, Target: g, Slot: "1x", Source: greetSrc}, wire.CodeBadRequest, ""},
		{"define a huge source", wire.Request{Command: wire.CmdDefineMethod, Target: g, Slot: "greet", Source: "def greet(self):\n" + strings.Repeat("    x = 1\n", 20000) + "    return 1\n"}, wire.CodeBadRequest, ""},
		{"define on nothing", wire.Request{Command: wire.CmdDefineMethod, Target: wire.Named("no_such_obj"), Slot: "greet", Source: greetSrc}, wire.CodeNotFound, ""},
		{"define without source", wire.Request{Command: wire.CmdDefineMethod, Target: g, Slot: "greet"}, wire.CodeBadRequest, "source"},
		{"history of nothing", wire.Request{Command: wire.CmdMethodHistory, Target: g, Slot: "never_defined"}, wire.CodeNotFound, ""},
		{"revert to a missing version", wire.Request{Command: wire.CmdRevertMethod, Target: g, Slot: "greet", Version: 9}, wire.CodeNotFound, ""},
		{"revert", wire.Request{Command: wire.CmdRevertMethod, Target: g, Slot: "greet", Version: 1}, "", ""},
		{"clone", wire.Request{Command: wire.CmdClone, Target: g, Root: "second_genesis"}, "", ""},
		{"clone under a taken root", wire.Request{Command: wire.CmdClone, Target: g, Root: "second_genesis"}, wire.CodeBadRequest, "exists"},
		{"clone nothing", wire.Request{Command: wire.CmdClone, Target: wire.ByNumber(999999)}, wire.CodeNotFound, ""},
		{"remove", wire.Request{Command: wire.CmdRemoveSlot, Target: wire.Named("second_genesis"), Slot: "greet"}, "", ""},
		{"remove again", wire.Request{Command: wire.CmdRemoveSlot, Target: wire.Named("second_genesis"), Slot: "greet"}, wire.CodeNotFound, ""},
		{"unwire the state machine", wire.Request{Command: wire.CmdRemoveSlot, Target: wire.Named("psm_prototypes_obj"), Slot: "IDLE"}, wire.CodeBadRequest, "state machine"},
		{"import garbage", wire.Request{Command: wire.CmdImport, Text: "{nope"}, wire.CodeBadRequest, ""},
		{"import a dangling reference", wire.Request{Command: wire.CmdImport, Text: `{"oid":1,"slots":{"p":{"ref":77}}}`}, wire.CodeNotFound, ""},
		{"backup to a relative path", wire.Request{Command: wire.CmdBackup, Path: "relative"}, wire.CodeBadRequest, "absolute"},
		{"gc dry run", wire.Request{Command: wire.CmdCollectBlobs, DryRun: true}, "", ""},
	} {
		rep := callReply(t, c, &tc.req)
		switch {
		case tc.code == "" && rep.Status != wire.StatusOK:
			t.Errorf("%s: %s %s", tc.name, rep.Code, rep.Message)
		case tc.code != "" && (rep.Code != tc.code || !strings.Contains(rep.Message, tc.msg)):
			t.Errorf("%s: %s %q, want %s containing %q", tc.name, rep.Code, rep.Message, tc.code, tc.msg)
		}
	}
	var h wire.MethodHistory
	decode(t, call(t, c, &wire.Request{Command: wire.CmdMethodHistory, Target: g, Slot: "greet"}), &h)
	if len(h.Versions) != 3 || h.Versions[2].Source != greetSrc || !h.Versions[2].Current || h.Versions[0].Author != "architect" {
		t.Fatalf("history %+v", h)
	}
	if got := dispatch(t, c, "greet"); got != "hello" {
		t.Errorf("greet after the revert = %v", got)
	}
	// Export the clone and import it again: one more object, its methods
	// audited, its parent resolved by root name.
	var ex wire.Exported
	decode(t, call(t, c, &wire.Request{Command: wire.CmdExport, Targets: []string{"second_genesis"}}), &ex)
	lines := strings.ReplaceAll(ex.Lines, `"roots":["second_genesis"],`, "")
	var im wire.Imported
	decode(t, call(t, c, &wire.Request{Command: wire.CmdImport, Text: lines}), &im)
	if ex.Objects != 1 || im.Objects != 1 {
		t.Errorf("exported %d, imported %d", ex.Objects, im.Objects)
	}
}

// A backup taken while a client writes holds every write acknowledged
// before it started, and batosd opens it and answers like the original.
func TestBackupWhileServing(t *testing.T) {
	endpoint := freeEndpoint(t)
	startDaemon(t, t.TempDir(), endpoint)
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	call(t, c, &wire.Request{Command: wire.CmdDefineMethod, Target: wire.Named("genesis_obj"), Slot: "greet", Source: greetSrc})
	var acked atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		w, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		defer w.Close()
		for i := int64(1); !stop.Load(); i++ {
			rep := callReply(t, w, &wire.Request{Command: wire.CmdSetSlot, Target: wire.Named("genesis_obj"), Slot: "counter", Value: wire.Value{V: i}})
			if rep.Status != wire.StatusOK {
				t.Errorf("write %d: %s %s", i, rep.Code, rep.Message)
				return
			}
			acked.Store(i)
		}
	})
	for acked.Load() < 20 && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}
	before := acked.Load()
	dir := filepath.Join(t.TempDir(), "backup")
	var b wire.BackedUp
	decode(t, call(t, c, &wire.Request{Command: wire.CmdBackup, Path: dir}), &b)
	stop.Store(true)
	wg.Wait()
	if rep := callReply(t, c, &wire.Request{Command: wire.CmdBackup, Path: dir}); rep.Code != wire.CodeBadRequest {
		t.Errorf("a backup over an existing directory: %s %s", rep.Code, rep.Message)
	}

	endpoint2 := freeEndpoint(t)
	startDaemon(t, dir, endpoint2)
	c2, err := bridge.Dial(context.Background(), endpoint2, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, _ := dispatch(t, c2, "counter").(int64)
	if got < before {
		t.Errorf("the backup's counter is %d; %d was acknowledged before it started", got, before)
	}
	if g := dispatch(t, c2, "greet"); g != "hello" {
		t.Errorf("greet on the backup = %v", g)
	}
}

func decode(t *testing.T, res any, out interface{ UnmarshalMsg([]byte) ([]byte, error) }) {
	t.Helper()
	if err := (wire.Value{V: res}).Decode(out); err != nil {
		t.Fatal(fmt.Errorf("unexpected result %v: %w", res, err))
	}
}
