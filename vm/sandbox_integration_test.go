package vm

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batos/batos/object"
)

// Programs sampled from the method grammar run in the real sandbox and
// return a string: whatever a model writes under MethodGrammar is a
// working method, not just one that passes the audit.
func TestGrammarProgramsRunInSandbox(t *testing.T) {
	store, err := object.Open(t.TempDir(), object.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	v, err := Open(ctx, store, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)
	g := methodGrammar("display_yourself", []string{"arg0"})
	r := rand.New(rand.NewPCG(5, 6))
	n := 40
	if testing.Short() {
		n = 10
	}
	for i := range n {
		src := g.sample(r)
		if i == 0 {
			src = "def display_yourself(self, arg0):\n    return self.repr() + \" \" + str(arg0)\n"
		}
		if err := v.SetSlot(ctx, RootGenesis, "display_yourself", &object.Method{Source: src, Author: "test"}); err != nil {
			t.Fatalf("%s\n%v", src, err)
		}
		res, err := v.Dispatch(ctx, RootGenesis, "display_yourself", []object.Value{object.Int(7)}, nil)
		if err != nil {
			t.Fatalf("sampled method fails:\n%s\n%v", src, err)
		}
		s, ok := res.Value.(object.String)
		if !ok {
			t.Fatalf("sampled method returned %v:\n%s", res.Value, src)
		}
		if i == 0 && string(s) != "<UvmObject oid=3 slots=['display_yourself', 'parent*']> 7" {
			t.Errorf("got %q", s)
		}
		if strings.Contains(src, "self.repr()") && !strings.Contains(string(s), "<UvmObject oid=3") {
			t.Errorf("%q lacks the repr:\n%s", s, src)
		}
	}
}
