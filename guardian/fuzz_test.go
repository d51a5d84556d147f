package guardian_test

import (
	"errors"
	"slices"
	"testing"

	"go.starlark.net/starlark"

	"github.com/batos/batos/guardian"
)

// FuzzCheck checks that Check never panics, that it returns nil or a
// non-empty Findings with known rule ids, and that whatever it accepts
// compiles as Starlark with only the allowed builtins.
func FuzzCheck(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.source, c.policy.Selector)
	}
	f.Fuzz(func(t *testing.T, src, selector string) {
		p := guardian.DefaultPolicy(selector)
		err := guardian.Check(src, p)
		if err == nil {
			allowed := func(name string) bool { return slices.Contains(guardian.DefaultBuiltins, name) }
			if _, _, cerr := starlark.SourceProgramOptions(guardian.FileOptions(), "m.star", src, allowed); cerr != nil {
				t.Fatalf("Check accepted source that does not compile: %v\n%s", cerr, src)
			}
			return
		}
		var fs guardian.Findings
		if !errors.As(err, &fs) || len(fs) == 0 || !errors.Is(err, guardian.ErrRejected) {
			t.Fatalf("Check returned %T %v", err, err)
		}
		for _, fd := range fs {
			if !slices.Contains(guardian.Rules, fd.Rule) || fd.Message == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
	})
}

// BenchmarkCheck audits a typical generated method.
func BenchmarkCheck(b *testing.B) {
	src := `
def add_item(self, item, limit=10):
    """Appends item to self.items, keeping at most limit."""
    if len(self.items) >= limit:
        self.items.pop(0)
    self.items.append(item)
    total = 0
    for it in self.items:
        total += len(str(it))
    self.total = total
    self._p_changed = True
    return {"count": len(self.items), "total": total}
`
	p := guardian.DefaultPolicy("add_item")
	if err := guardian.Check(src, p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := guardian.Check(src, p); err != nil {
			b.Fatal(err)
		}
	}
}
