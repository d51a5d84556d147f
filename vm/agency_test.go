package vm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/batos/batos/gbnf"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/vmtest"
)

// loopback is a loopback HTTP service: GET /<city> answers a JSON
// forecast, POST records its body.
type loopback struct {
	*httptest.Server
	gets, posts atomic.Int64
	mu          sync.Mutex
	posted      []string
}

func newLoopback(t *testing.T) *loopback {
	l := &loopback{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			l.posts.Add(1)
			b, _ := io.ReadAll(r.Body)
			l.mu.Lock()
			l.posted = append(l.posted, string(b))
			l.mu.Unlock()
			fmt.Fprint(w, `{"ok": true}`)
			return
		}
		l.gets.Add(1)
		fmt.Fprintf(w, `{"city": %q, "temp": 21}`, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	t.Cleanup(l.Close)
	return l
}

// httpCaps registers test-local GET (read-only) and POST (state-changing,
// no dry run) capabilities bound to the loopback service.
func httpCaps(t *testing.T, v *vm.VM, base string) {
	t.Helper()
	fields := []vm.Param{{Name: "status", Kind: vm.KindNum}, {Name: "body", Kind: vm.KindStr, JSON: true}}
	do := func(ctx context.Context, method, url, body string) (object.Value, error) {
		if !strings.HasPrefix(url, base) {
			return nil, fmt.Errorf("host not allowed: %s", url)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if err != nil {
			return nil, err
		}
		return object.Map{"status": object.Int(resp.StatusCode), "body": object.String(b)}, nil
	}
	for _, c := range []vm.Capability{{
		Name: "http_get", Doc: "GET a URL of the loopback service", ReadOnly: true,
		Params: []vm.Param{{Name: "url", Kind: vm.KindStr, Prefixes: []string{base}}}, Result: vm.KindDict, Fields: fields,
		Func: func(ctx context.Context, tx *object.Tx, a map[string]object.Value) (object.Value, error) {
			return do(ctx, http.MethodGet, string(a["url"].(object.String)), "")
		},
	}, {
		Name: "http_post", Doc: "POST a body to a URL of the loopback service",
		Params: []vm.Param{{Name: "url", Kind: vm.KindStr, Prefixes: []string{base}}, {Name: "body", Kind: vm.KindStr}}, Result: vm.KindDict, Fields: fields,
		Func: func(ctx context.Context, tx *object.Tx, a map[string]object.Value) (object.Value, error) {
			return do(ctx, http.MethodPost, string(a["url"].(object.String)), string(a["body"].(object.String)))
		},
	}} {
		if err := v.RegisterCapability(c); err != nil {
			t.Fatal(err)
		}
	}
}

// scriptedProxies answers ALFRED with the program of each selector,
// after checking that the mission's grammar admits it.
func scriptedProxies(t *testing.T, programs map[string]string, prompts *[]string) func(vm.Generation) (string, error) {
	var mu sync.Mutex
	return func(g vm.Generation) (string, error) {
		for sel, src := range programs {
			if !strings.HasPrefix(g.Grammar, `root ::= "def `+sel+"(") {
				continue
			}
			gr, err := gbnf.Parse(g.Grammar)
			if err != nil {
				return "", err
			}
			if !gr.Match(src) {
				t.Errorf("the grammar of %s does not admit\n%s", sel, src)
			}
			mu.Lock()
			*prompts = append(*prompts, g.Messages[len(g.Messages)-1].Content)
			mu.Unlock()
			return src, nil
		}
		return "", nil
	}
}

func TestAcquireCapability(t *testing.T) {
	srv := newLoopback(t)
	base := srv.URL + "/"
	programs := map[string]string{
		"forecast": "def forecast(self, city):\n    result = self.weather.call(url=\"" + base + "\" + city)\n    return json.decode(result[\"body\"])\n",
		"report":   "def report(self, text):\n    result = self.poster.call(url=\"" + base + "log\", body=text)\n    return result[\"status\"]\n",
	}
	var prompts []string
	model := &vmtest.Model{}
	model.Script = scriptedProxies(t, programs, &prompts)
	e := open(t, model, func(o *vm.Options) { o.Runner = nil })
	ctx := ctxT(t)
	httpCaps(t, e.v, base)
	for slot, c := range map[string]string{"weather": "http_get", "poster": "http_post"} {
		if _, err := e.v.GrantCapability(ctx, "genesis_obj", slot, c); err != nil {
			t.Fatal(err)
		}
	}

	// A read-only capability: the trial makes the real call.
	id, err := e.v.StartCycle(ctx, "genesis_obj", map[string]object.Value{
		"type": object.String(vm.MissionAcquireCapability), "selector": object.String("forecast"),
		"kwargs": object.Map{"city": object.String("paris")}, "capability": object.String("weather"),
		"purpose": object.String("the forecast for a city, parsed"), "install_as": object.String("forecaster"),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.v.WaitCycle(ctx, id)
	if err != nil || rec.Status != vm.StatusComplete || rec.Outcome != "method installed" {
		t.Fatalf("cycle: %v %+v", err, rec)
	}
	if srv.gets.Load() != 1 || len(rec.Capabilities) != 1 || !rec.Capabilities[0].Trial || rec.Capabilities[0].BytesOut == 0 {
		t.Fatalf("trial calls: %d gets, %+v", srv.gets.Load(), rec.Capabilities)
	}
	if len(prompts) != 1 || !strings.Contains(prompts[0], "self.weather (capability http_get, read-only): GET a URL") || !strings.Contains(prompts[0], "call(url: str) -> dict") {
		t.Fatalf("prompt lacks the capability:\n%s", prompts)
	}
	res, err := e.v.Dispatch(ctx, "forecaster", "forecast", nil, map[string]object.Value{"city": object.String("oslo")})
	if err != nil || !object.Equal(res.Value, object.Map{"city": object.String("oslo"), "temp": object.Int(21)}) {
		t.Fatalf("forecast: %v, %v", object.Format(res.Value), err)
	}
	if _, err := e.v.Dispatch(ctx, "genesis_obj", "forecast", nil, map[string]object.Value{"city": object.String("oslo")}); err != nil {
		t.Fatal(err) // a miss on the target: a new mission, not an error
	}

	// A state-changing capability: the trial does not make the call.
	id, err = e.v.StartCycle(ctx, "genesis_obj", map[string]object.Value{
		"type": object.String(vm.MissionAcquireCapability), "selector": object.String("report"),
		"kwargs": object.Map{"text": object.String("trial")}, "capability": object.String("poster"),
		"purpose": object.String("post a report"),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err = e.v.WaitCycle(ctx, id)
	if err != nil || rec.Status != vm.StatusComplete {
		t.Fatalf("cycle: %v %+v", err, rec)
	}
	if srv.posts.Load() != 0 || len(rec.Capabilities) != 1 || !rec.Capabilities[0].Skipped {
		t.Fatalf("the trial posted: %d, %+v", srv.posts.Load(), rec.Capabilities)
	}
	if !strings.Contains(strings.Join(rec.Lines, "\n"), "did not make") {
		t.Fatalf("no note of the skipped call:\n%s", strings.Join(rec.Lines, "\n"))
	}
	res, err = e.v.Dispatch(ctx, "genesis_obj", "report", nil, map[string]object.Value{"text": object.String("real")})
	srv.mu.Lock()
	posted := append([]string(nil), srv.posted...)
	srv.mu.Unlock()
	if err != nil || res.Value != object.Int(200) || len(posted) != 1 || posted[0] != "real" {
		t.Fatalf("report: %v, %v, posted %q", res.Value, err, posted)
	}
}

// A doesNotUnderstand on an object that holds capabilities becomes an
// acquire_capability mission.
func TestMissOnHolderAcquires(t *testing.T) {
	srv := newLoopback(t)
	base := srv.URL + "/"
	var prompts []string
	model := &vmtest.Model{}
	model.Script = scriptedProxies(t, map[string]string{
		"weather_in": "def weather_in(self, arg0):\n    result = self.weather.call(url=\"" + base + "\" + arg0)\n    return result[\"body\"]\n",
	}, &prompts)
	e := open(t, model, func(o *vm.Options) { o.Runner = nil })
	ctx := ctxT(t)
	httpCaps(t, e.v, base)
	if _, err := e.v.GrantCapability(ctx, "genesis_obj", "weather", "http_get"); err != nil {
		t.Fatal(err)
	}
	res, err := e.v.Dispatch(ctx, "genesis_obj", "weather_in", []object.Value{object.String("rome")}, nil)
	if err != nil || !res.Mission {
		t.Fatal(res, err)
	}
	rec, err := e.v.WaitCycle(ctx, res.Cycle)
	if err != nil || rec.Mission != vm.MissionAcquireCapability || rec.Outcome != "method installed" {
		t.Fatalf("%v %+v", err, rec)
	}
	res, err = e.v.Dispatch(ctx, "genesis_obj", "weather_in", []object.Value{object.String("rome")}, nil)
	if err != nil || res.Value != object.String(`{"city": "rome", "temp": 21}`) {
		t.Fatalf("%v %v", res.Value, err)
	}
}
