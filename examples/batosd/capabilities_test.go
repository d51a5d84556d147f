package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
	"github.com/batos/batos/vm/sandbox"
	"github.com/batos/batos/vm/vmtest"
)

// TestBuiltinCapabilities grants clock and http (GET and POST, to a
// loopback server only) and checks what methods can do with them.
func TestBuiltinCapabilities(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			posts.Add(1)
			io.Copy(w, r.Body)
		case r.URL.Path == "/big":
			w.Write([]byte(strings.Repeat("x", 5000)))
		case r.URL.Path == "/away":
			http.Redirect(w, r, "http://192.0.2.1/", http.StatusFound)
		default:
			fmt.Fprintf(w, `{"path": %q}`, r.URL.Path)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	v, _ := vmtest.Open(t, vm.Options{Model: &vmtest.Model{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SandboxLimits: vm.SandboxLimits{MaxAllocBytes: -1}})
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC) }
	cfg := capsConfig{
		Clock: &capGrant{Grant: []string{"genesis_obj"}},
		HTTP:  &httpGrant{Grant: []string{"genesis_obj"}, Allow: []string{host}, Methods: []string{"GET", "POST"}, MaxBytes: 4096},
	}
	granted, err := setupCapabilities(ctx, v, cfg, capabilityEnv{now: now, catalog: &catalogRetriever{}})
	if err != nil || len(granted) != 3 {
		t.Fatalf("granted %v, %v", granted, err)
	}
	// Granting again (a restart) keeps the same capability objects.
	before := objecttestSlot(t, v, "http_get")
	if _, err := setupCapabilities(ctx, v, cfg, capabilityEnv{now: now, catalog: &catalogRetriever{}}); err != nil {
		t.Fatal(err)
	}
	if after := objecttestSlot(t, v, "http_get"); after != before {
		t.Fatalf("regrant replaced the capability: %v -> %v", before, after)
	}
	cases := []struct {
		name, src string
		want      object.Value
		wantErr   error
	}{
		{"clock", "def m(self):\n    return self.clock.call()\n", object.String("2026-12-02T01:00:00Z"), nil},
		{"get", "def m(self):\n    return json.decode(self.http_get.call(url=\"" + srv.URL + "/a\")[\"body\"])\n", object.Map{"path": object.String("/a")}, nil},
		{"post", "def m(self):\n    return self.http_post.call(url=\"" + srv.URL + "/p\", body=\"hi\")[\"body\"]\n", object.String("hi"), nil},
		{"host not allowed", "def m(self):\n    return self.http_get.call(url=\"http://192.0.2.1/\")\n", nil, errNotAllowed},
		{"redirect away", "def m(self):\n    return self.http_get.call(url=\"" + srv.URL + "/away\")\n", nil, errNotAllowed},
		{"response too large", "def m(self):\n    return self.http_get.call(url=\"" + srv.URL + "/big\")\n", nil, vm.ErrCapabilityBudget},
		{"unknown parameter", "def m(self):\n    return self.http_get.call(href=\"x\")\n", nil, vm.ErrCapabilityArgs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sel := "m_" + strings.ReplaceAll(c.name, " ", "_")
			src := strings.Replace(c.src, "def m(", "def "+sel+"(", 1)
			if err := v.SetSlot(ctx, "genesis_obj", sel, &object.Method{Source: src}); err != nil {
				t.Fatal(err)
			}
			res, err := v.Dispatch(ctx, "genesis_obj", sel, nil, nil)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || !object.Equal(res.Value, c.want) {
				t.Fatalf("got %v, %v", object.Format(res.Value), err)
			}
			if len(res.Capabilities) != 1 {
				t.Fatalf("trace %+v", res.Capabilities)
			}
		})
	}
	if posts.Load() != 1 {
		t.Fatalf("%d posts", posts.Load())
	}
	// An object that was not granted http cannot call it.
	if _, err := v.CloneObject(ctx, "traits_obj", "other_obj"); err != nil {
		t.Fatal(err)
	}
	ref := objecttestSlot(t, v, "http_get")
	if err := v.SetSlot(ctx, "other_obj", "m", &object.Method{Source: "def m(self, c):\n    return c.call(url=\"" + srv.URL + "/\")\n"}); err != nil {
		t.Fatal(err)
	}
	// Passed as an argument by the host it works: the host grants it.
	if _, err := v.Dispatch(ctx, "other_obj", "m", []object.Value{ref}, nil); err != nil {
		t.Fatalf("as an argument: %v", err)
	}
	if err := v.SetSlot(ctx, "other_obj", "friend", object.Ref(mustResolve(t, v, "genesis_obj"))); err != nil {
		t.Fatal(err)
	}
	if err := v.SetSlot(ctx, "other_obj", "n", &object.Method{Source: "def n(self):\n    return self.m(self.friend.http_get)\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Dispatch(ctx, "other_obj", "n", nil, nil); !errors.Is(err, sandbox.ErrCapability) {
		t.Fatalf("through a friend: %v", err)
	}
}

func TestHTTPCapabilityEmptyAllowList(t *testing.T) {
	if _, err := httpCapabilities(httpGrant{Grant: []string{"genesis_obj"}}); err == nil {
		t.Fatal("an http grant with no allowed host was accepted")
	}
}

func objecttestSlot(t *testing.T, v *vm.VM, slot string) object.Value {
	t.Helper()
	var out object.Value
	if err := v.Store().View(context.Background(), func(tx *object.Tx) error {
		o, err := tx.GetTarget("genesis_obj")
		if err != nil {
			return err
		}
		out = o.Slots[slot]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustResolve(t *testing.T, v *vm.VM, name string) object.OID {
	t.Helper()
	var oid object.OID
	if err := v.Store().View(context.Background(), func(tx *object.Tx) error {
		var err error
		oid, err = tx.Resolve(name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return oid
}
