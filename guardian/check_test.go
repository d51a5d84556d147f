package guardian_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/batos/batos/guardian"
)

// A corpusCase is one chunk of a testdata/*.star file.
type corpusCase struct {
	name   string // file:line
	source string
	policy guardian.Policy
	want   []string // "line:rule", sorted
}

var (
	expectRE = regexp.MustCompile(`###\s*([a-z-]+)`)
	defRE    = regexp.MustCompile(`(?m)^def\s+(\w+)`)
)

// loadCorpus reads testdata/*.star: chunks separated by "---" lines, each
// with optional "# policy: key=value ..." lines and "### rule" expectations.
func loadCorpus(t testing.TB) []corpusCase {
	files, err := filepath.Glob("testdata/*.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var cases []corpusCase
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lineNo := 1
		for _, chunk := range strings.Split(string(data), "\n---\n") {
			c := corpusCase{name: fmt.Sprintf("%s:%d", filepath.Base(file), lineNo), source: chunk}
			lineNo += strings.Count(chunk, "\n") + 2
			if m := defRE.FindStringSubmatch(chunk); m != nil {
				c.policy.Selector = m[1]
			}
			for i, line := range strings.Split(chunk, "\n") {
				if rest, ok := strings.CutPrefix(line, "# policy:"); ok {
					rest, _, _ = strings.Cut(rest, "###")
					applyPolicy(t, &c.policy, rest)
				}
				for _, m := range expectRE.FindAllStringSubmatch(line, -1) {
					c.want = append(c.want, fmt.Sprintf("%d:%s", i+1, m[1]))
				}
			}
			sort.Strings(c.want)
			cases = append(cases, c)
		}
	}
	return cases
}

func applyPolicy(t testing.TB, p *guardian.Policy, spec string) {
	for _, kv := range strings.Fields(spec) {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "selector":
			p.Selector = v
		case "params":
			p.Params = strings.Split(v, ",")
		case "builtins":
			p.AllowedBuiltins = strings.Split(v, ",")
		case "max_bytes":
			p.MaxBytes = n
		case "max_statements":
			p.MaxStatements = n
		case "max_depth":
			p.MaxDepth = n
		case "max_expr_depth":
			p.MaxExprDepth = n
		default:
			t.Fatalf("unknown policy key %q", k)
		}
	}
}

func TestCorpus(t *testing.T) {
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			err := guardian.Check(c.source, c.policy)
			var got []string
			if err != nil {
				var fs guardian.Findings
				if !errors.As(err, &fs) || !errors.Is(err, guardian.ErrRejected) || len(fs) == 0 {
					t.Fatalf("Check returned %T %v, want non-empty Findings", err, err)
				}
				seen := map[string]bool{}
				for _, f := range fs {
					k := fmt.Sprintf("%d:%s", max(f.Pos.Line, 1), f.Rule)
					if !seen[k] {
						seen[k] = true
						got = append(got, k)
					}
				}
				sort.Strings(got)
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("findings %v, want %v\nerror: %v\nsource:\n%s", got, c.want, err, c.source)
			}
		})
	}
}

// TestCorpusCoversRules makes sure every rule has at least one case.
func TestCorpusCoversRules(t *testing.T) {
	seen := map[string]bool{}
	valid := 0
	for _, c := range loadCorpus(t) {
		if len(c.want) == 0 {
			valid++
		}
		for _, w := range c.want {
			_, rule, _ := strings.Cut(w, ":")
			seen[rule] = true
		}
	}
	for _, r := range guardian.Rules {
		if !seen[r] {
			t.Errorf("no corpus case expects rule %s", r)
		}
	}
	if valid < 10 {
		t.Errorf("only %d valid cases", valid)
	}
}

func TestFindingsError(t *testing.T) {
	err := guardian.Check("def m(self):\n    self.x = self._slots\n", guardian.DefaultPolicy("n"))
	if err == nil {
		t.Fatal("want findings")
	}
	msg := err.Error()
	for _, want := range []string{"3 findings", "shape", "covenant", "forbidden-attr", "2:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	var fs guardian.Findings
	errors.As(err, &fs)
	if got := strings.Join(fs.Rules(), ","); got != "covenant,shape,forbidden-attr" {
		t.Errorf("Rules() = %s", got)
	}
}

func TestHugeSourceRejectedUnparsed(t *testing.T) {
	src := "def m(self):\n    return " + strings.Repeat("(", 1<<20) + "1" + strings.Repeat(")", 1<<20) + "\n"
	err := guardian.Check(src, guardian.DefaultPolicy("m"))
	var fs guardian.Findings
	if !errors.As(err, &fs) || len(fs) != 1 || fs[0].Rule != guardian.RuleSize {
		t.Fatalf("got %v, want one size finding", err)
	}
}
