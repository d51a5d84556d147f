package vm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

func TestDispatch(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	if err := e.v.SetSlot(ctx, "genesis_obj", "motto", object.String("becoming")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		target   string
		selector string
		args     []object.Value
		want     object.Value
		wantErr  error
		check    func(t *testing.T, v object.Value)
	}{
		{name: "primitive through parents", target: "genesis_obj", selector: "oid", want: object.Int(3)},
		{name: "repr", target: "genesis_obj", selector: "repr", want: object.String("<UvmObject oid=3 slots=['motto', 'parent*']>")},
		{name: "inherited data slot", target: "genesis_obj", selector: "model_id", want: object.String("meta-llama/Meta-Llama-3.1-8B-Instruct")},
		{name: "own data slot", target: "genesis_obj", selector: "motto", want: object.String("becoming")},
		{name: "data slot with args", target: "genesis_obj", selector: "motto", args: []object.Value{object.Int(1)}, wantErr: vm.ErrNotCallable},
		{name: "target by OID", target: "3", selector: "motto", want: object.String("becoming")},
		{name: "unknown target", target: "nobody_obj", selector: "oid", wantErr: object.ErrNotFound},
		{name: "bad selector", target: "genesis_obj", selector: "parent*", wantErr: vm.ErrBadSelector},
		{name: "keyword selector", target: "genesis_obj", selector: "def", wantErr: vm.ErrBadSelector},
		{name: "slot names", target: "genesis_obj", selector: "slot_names", want: object.List{object.String("motto"), object.String("parent*")}},
		{name: "display", target: "genesis_obj", selector: "display", check: func(t *testing.T, v object.Value) {
			if s, _ := v.(object.String); !strings.Contains(string(s), `motto: "becoming"`) {
				t.Errorf("display = %v", v)
			}
		}},
		{name: "clone", target: "genesis_obj", selector: "clone", check: func(t *testing.T, v object.Value) {
			ref, ok := v.(object.Ref)
			if !ok || ref == 3 {
				t.Fatalf("clone = %v", v)
			}
			if got := e.slot(t, object.OID(ref).String(), "motto"); got != object.String("becoming") {
				t.Errorf("clone's motto = %v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.v.Dispatch(ctx, tc.target, tc.selector, tc.args, nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Mission {
				t.Fatalf("unexpected mission %+v", res)
			}
			if tc.check != nil {
				tc.check(t, res.Value)
			} else if !object.Equal(res.Value, tc.want) {
				t.Errorf("got %v, want %v", object.Format(res.Value), object.Format(tc.want))
			}
		})
	}
	t.Run("unknown primitive", func(t *testing.T) {
		if err := e.v.SetSlot(ctx, "genesis_obj", "ghost", object.Primitive("no.such")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.v.Dispatch(ctx, "genesis_obj", "ghost", nil, nil); !errors.Is(err, vm.ErrUnknownPrimitive) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("primitive error rolls back", func(t *testing.T) {
		e.v.RegisterPrimitive("test.write_then_fail", func(ctx context.Context, c *vm.Call) (object.Value, error) {
			o, err := c.Tx.Get(c.Self)
			if err != nil {
				return nil, err
			}
			o.Set("scribble", object.Bool(true))
			if err := c.Tx.Put(o); err != nil {
				return nil, err
			}
			return nil, errors.New("changed my mind")
		})
		if err := e.v.SetSlot(ctx, "genesis_obj", "scrawl", object.Primitive("test.write_then_fail")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.v.Dispatch(ctx, "genesis_obj", "scrawl", nil, nil); err == nil || !strings.Contains(err.Error(), "changed my mind") {
			t.Fatalf("err = %v", err)
		}
		if v := e.slot(t, "genesis_obj", "scribble"); v != nil {
			t.Errorf("rolled-back write visible: %v", v)
		}
	})
	t.Run("orchestrator starts a cycle", func(t *testing.T) {
		res, err := e.v.Dispatch(ctx, "orchestrator_obj", "start_cognitive_cycle", nil, map[string]object.Value{"text": object.String("hello")})
		if err != nil || res.Mission {
			t.Fatalf("%+v %v", res, err)
		}
		waitIdle(t, e)
		recs, err := e.v.Cycles(ctx, 1)
		if err != nil || len(recs) != 1 || recs[0].Mission != vm.MissionQuery || recs[0].Status != vm.StatusComplete {
			t.Errorf("cycles = %+v, %v", recs, err)
		}
	})
}

func waitIdle(t *testing.T, e *env) {
	t.Helper()
	ctx := ctxT(t)
	recs, err := e.v.Cycles(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := e.v.WaitCycle(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// A method's arguments become parameters: the mission records them and
// ALFRED writes def name(self, arg0, ...).
func TestMissionWithArguments(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	res, err := e.v.Dispatch(ctx, "genesis_obj", "greet", []object.Value{object.String("Architect")}, map[string]object.Value{"tone": object.String("warm")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.v.WaitCycle(ctx, res.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	m := e.slot(t, "genesis_obj", "greet").(*object.Method)
	if !strings.HasPrefix(m.Source, "def greet(self, arg0, tone):") {
		t.Errorf("source = %q", m.Source)
	}
	calls := e.model.Calls()
	if g := calls[len(calls)-1]; !strings.Contains(g.Grammar, `"def greet(self, arg0, tone):\n"`) || !strings.Contains(g.Grammar, `"tone"`) || g.MaxTokens < len(m.Source) {
		t.Errorf("ALFRED's grammar %q, max tokens %d", g.Grammar, g.MaxTokens)
	}
}

// Reopening a store resumes the living image: no second genesis, learnt
// methods persist.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	openVM := func(l *lines) (*vm.VM, *object.Store) {
		store, err := object.Open(dir, object.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		r := &fakeRunner{}
		v, err := vm.Open(ctx, store, vm.Options{Model: &vmtest.Model{}, Runner: r, Logger: slogWith(l)})
		if err != nil {
			t.Fatal(err)
		}
		r.v = v
		if err := v.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return v, store
	}
	l1 := &lines{}
	v, store := openVM(l1)
	res, err := v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := v.WaitCycle(ctx, res.Cycle); err != nil || rec.Status != vm.StatusComplete {
		t.Fatalf("%+v %v", rec, err)
	}
	before, _ := v.Inspect(ctx, "psm_prototypes_obj")
	v.Close(ctx)
	store.Close()

	l2 := &lines{}
	v, store = openVM(l2)
	defer store.Close()
	defer v.Close(ctx)
	if !slices.Contains(l2.all(), "[UVM] Resuming existence from Living Image.") || slices.Contains(l2.all(), "[UVM] Incarnating primordial objects...") {
		t.Errorf("second open:\n%s", strings.Join(l2.all(), "\n"))
	}
	after, _ := v.Inspect(ctx, "psm_prototypes_obj")
	if before.Repr != after.Repr || !slices.Equal(before.Parents, after.Parents) {
		t.Errorf("primordial objects changed: %v vs %v", before, after)
	}
	res, err = v.Dispatch(ctx, "genesis_obj", "display_yourself", nil, nil)
	if err != nil || res.Mission {
		t.Fatalf("after resume: %+v %v", res, err)
	}
	rec, err := v.Cycle(ctx, 19)
	if err != nil || rec.Status != vm.StatusComplete {
		t.Errorf("cycle log after resume: %+v %v", rec, err)
	}
}

func TestInspectAndSetSlot(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	bad := &object.Method{Source: "def shout(self):\n    self.loud = True\n    return 1\n"}
	err := e.v.SetSlot(ctx, "genesis_obj", "shout", bad)
	var ae *vm.AuditError
	if !errors.As(err, &ae) || !errors.Is(err, vm.ErrAudit) {
		t.Fatalf("SetSlot(bad method) = %v", err)
	}
	good := &object.Method{Source: "def shout(self):\n    self.loud = True\n    self._p_changed = True\n", Author: "architect"}
	if err := e.v.SetSlot(ctx, "genesis_obj", "shout", good); err != nil {
		t.Fatal(err)
	}
	if err := e.v.SetSlot(ctx, "genesis_obj", "shout", good); err != nil {
		t.Fatal(err)
	}
	if err := e.v.SetSlot(ctx, "genesis_obj", "parent*", object.String("x")); !errors.Is(err, object.ErrInvalid) {
		t.Errorf("bad parent slot: %v", err)
	}
	ins, err := e.v.Inspect(ctx, "genesis_obj")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, s := range ins.Slots {
		kinds[s.Name] = s.Kind
		if s.Kind == vm.SlotMethod && (s.Method.Verdict != "passed" || s.Method.Version != 2 || s.Method.Author != "architect" || s.Method.Selector != "shout") {
			t.Errorf("method = %+v", s.Method)
		}
	}
	if kinds["shout"] != vm.SlotMethod || kinds["parent*"] != vm.SlotParent || len(ins.Parents) != 2 {
		t.Errorf("inspection = %+v", ins)
	}
	tr, err := e.v.Inspect(ctx, "traits_obj")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tr.Slots {
		if s.Kind != vm.SlotPrimitive {
			t.Errorf("traits slot %s is %s", s.Name, s.Kind)
		}
	}
}

// Model and adapter files are imported as blobs once; the model is
// materialized to a cache file only when missing or corrupt.
func TestModelBlob(t *testing.T) {
	src := t.TempDir()
	modelFile := filepath.Join(src, "model.gguf")
	if err := os.WriteFile(modelFile, bytes.Repeat([]byte("m"), 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress []string
	e := open(t, nil, func(o *vm.Options) {
		o.ModelFile = modelFile
		o.Progress = func(name string, done, total int64) {
			if done == total {
				progress = append(progress, name)
			}
		}
	})
	ctx := ctxT(t)
	if !slices.Contains(progress, "model.gguf") {
		t.Errorf("progress = %v", progress)
	}
	path, err := e.v.MaterializeModel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("m"), 3<<20)) {
		t.Fatalf("materialized model: %d bytes, %v", len(got), err)
	}
	st1, _ := os.Stat(path)
	if _, err := e.v.MaterializeModel(ctx); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(path)
	if !os.SameFile(st1, st2) {
		t.Error("an intact cache file was rewritten")
	}
	if err := os.WriteFile(path, []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.MaterializeModel(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); len(got) != 3<<20 {
		t.Errorf("corrupt cache file not repaired: %d bytes", len(got))
	}
}

// Adapters move between the tiers with LRU eviction: one hot slot, and two
// or three warm files for three adapters used in a cycle.
func TestAdapterTiers(t *testing.T) {
	src := t.TempDir()
	adapters := map[string]string{}
	for i, name := range []string{"brick", "robin", "babs"} {
		p := filepath.Join(src, name+".gguf")
		if err := os.WriteFile(p, bytes.Repeat([]byte(name[:1]), 1000*(i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
		adapters[name] = p
	}
	tests := []struct {
		warm       int
		after1     vm.AdapterStatus // counters after one cycle
		after2     vm.AdapterStatus // and after a second one
		warmAfter2 int
	}{
		// Three adapters cycling through two warm slots: LRU always evicts
		// the one needed next, so every activation reads the blob.
		{warm: 2,
			after1: vm.AdapterStatus{ColdLoads: 3, WarmEvictions: 1, HotLoads: 3, HotEvictions: 2},
			after2: vm.AdapterStatus{ColdLoads: 6, WarmEvictions: 4, HotLoads: 6, HotEvictions: 5}, warmAfter2: 2},
		// With room for all three, the second cycle finds every file warm.
		{warm: 3,
			after1: vm.AdapterStatus{ColdLoads: 3, HotLoads: 3, HotEvictions: 2},
			after2: vm.AdapterStatus{ColdLoads: 3, WarmHits: 3, HotLoads: 6, HotEvictions: 5}, warmAfter2: 3},
	}
	counters := func(a vm.AdapterStatus) vm.AdapterStatus {
		return vm.AdapterStatus{HotHits: a.HotHits, WarmHits: a.WarmHits, ColdLoads: a.ColdLoads, HotLoads: a.HotLoads, HotEvictions: a.HotEvictions, WarmEvictions: a.WarmEvictions}
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("warm=", tc.warm), func(t *testing.T) {
			loader := &vmtest.Loader{}
			e := open(t, loader, func(o *vm.Options) {
				o.Adapters = adapters
				o.HotAdapters = 1
				o.WarmAdapters = tc.warm
			})
			rec := e.learn(t, "genesis_obj", "display_yourself")
			if rec.Status != vm.StatusComplete {
				t.Fatalf("%s: %s", rec.Status, rec.Error)
			}
			// BRICK, then BABS, ROBIN (facets), then ALFRED (no adapter):
			// with one hot slot each switch evicts the previous adapter.
			want := []string{"load BRICK", "unload BRICK", "load BABS", "unload BABS", "load ROBIN"}
			if got := loader.Events(); !slices.Equal(got, want) {
				t.Errorf("adapter events = %v, want %v", got, want)
			}
			for _, s := range rec.Steps {
				if s.Persona != "ALFRED" && s.Adapter != s.Persona {
					t.Errorf("step %s used adapter %q", s.Persona, s.Adapter)
				}
			}
			a := e.v.Status().Adapters
			if got := counters(a); !reflect.DeepEqual(got, tc.after1) {
				t.Errorf("after one cycle: %+v, want %+v", got, tc.after1)
			}
			if !slices.Equal(a.Hot, []string{"ROBIN"}) || !slices.Equal(a.Cold, []string{"BABS", "BRICK", "ROBIN"}) {
				t.Errorf("tiers: %+v", a)
			}
			if rec := e.learn(t, "genesis_obj", "describe"); rec.Status != vm.StatusComplete {
				t.Fatalf("%s: %s", rec.Status, rec.Error)
			}
			a = e.v.Status().Adapters
			if got := counters(a); !reflect.DeepEqual(got, tc.after2) {
				t.Errorf("after two cycles: %+v, want %+v", got, tc.after2)
			}
			if len(a.Warm) != tc.warmAfter2 || len(a.Hot) != 1 {
				t.Errorf("tiers: %+v", a)
			}
		})
	}
}

// A verified cache file is trusted through its stamp until it is written
// again: a same-size rewrite changes its modification time and is caught.
func TestMaterializeStamp(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(src, bytes.Repeat([]byte("m"), 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	e := open(t, nil, func(o *vm.Options) { o.ModelFile = src })
	path, err := e.v.MaterializeModel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".verified"); err != nil {
		t.Fatalf("no stamp after materializing: %v", err)
	}
	// Same size, different bytes, new modification time.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.MaterializeModel(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bytes.Repeat([]byte("m"), 1<<16)) {
		t.Fatal("a rewritten cache file was trusted through a stale stamp")
	}
}

// A crash after a cycle's transaction committed but before its final log
// write leaves the record "running": recovery must see the committed cycle
// object and record it complete, not aborted.
func TestRecoverCommittedCycle(t *testing.T) {
	e := open(t, nil, nil)
	rec := e.learn(t, "genesis_obj", "display_yourself")
	if rec.Status != vm.StatusComplete {
		t.Fatalf("%s: %s", rec.Status, rec.Error)
	}
	ctx := ctxT(t)
	key := []byte(fmt.Sprintf("vm/cyclelog/%016x", uint64(rec.ID)))
	err := e.store.Update(ctx, func(tx *object.Tx) error {
		b, err := tx.GetKV(key)
		if err != nil {
			return err
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		raw["status"] = vm.StatusRunning
		b, _ = json.Marshal(raw)
		return tx.SetKV(key, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.v.Close(ctx)
	v, err := vm.Open(ctx, e.store, vm.Options{Model: e.model, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	got, err := v.Cycle(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != vm.StatusComplete {
		t.Fatalf("recovered status %q (%s), want complete", got.Status, got.Error)
	}
	ins, err := v.Inspect(ctx, rec.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ins.Slots {
		if s.Name == "status" && !object.Equal(s.Value, object.String(vm.StatusComplete)) {
			t.Fatalf("cycle object status rewritten to %s", object.Format(s.Value))
		}
	}
}

// A set_slot that would unwire the state machine is refused, so the image
// still opens.
func TestSetSlotKeepsWiring(t *testing.T) {
	e := open(t, nil, nil)
	ctx := ctxT(t)
	for _, v := range []object.Value{object.Int(1), object.Ref(987654), nil} {
		if err := e.v.SetSlot(ctx, vm.RootPSM, "IDLE", v); !errors.Is(err, object.ErrInvalid) {
			t.Errorf("SetSlot(IDLE = %s) = %v, want ErrInvalid", object.Format(v), err)
		}
	}
	e.v.Close(ctx)
	v, err := vm.Open(ctx, e.store, vm.Options{Model: e.model, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	v.Close(ctx)
}
