package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/batos/batos/catalog"
	"github.com/batos/batos/errcode"
	"github.com/batos/batos/object"
	"github.com/batos/batos/vm"
)

// capsConfig is the "capabilities" key of the config file: the built-in
// capabilities the daemon grants, each off unless it names the objects
// (root names or OIDs) that get it.
//
//	"capabilities": {
//	  "clock":   {"grant": ["genesis_obj"]},
//	  "catalog": {"grant": ["genesis_obj"], "ingest": true},
//	  "http":    {"grant": ["genesis_obj"], "allow": ["127.0.0.1:8080"], "methods": ["GET"]}
//	}
type capsConfig struct {
	Clock   *capGrant     `json:"clock,omitempty"`
	Catalog *catalogGrant `json:"catalog,omitempty"`
	HTTP    *httpGrant    `json:"http,omitempty"`
}

// capGrant names the objects a capability is granted to.
type capGrant struct {
	Grant []string `json:"grant"`
}

// catalogGrant grants catalog_search and, with Ingest, catalog_ingest.
type catalogGrant struct {
	Grant  []string `json:"grant"`
	Ingest bool     `json:"ingest,omitempty"`
}

// httpGrant grants http_get (and http_post when Methods has POST) to the
// hosts of Allow only.
type httpGrant struct {
	Grant []string `json:"grant"`
	// Allow are the host:port pairs requests may go to; empty allows none.
	Allow []string `json:"allow"`
	// Methods are GET and/or POST (default GET).
	Methods []string `json:"methods,omitempty"`
	// MaxBytes bounds a response body (default 64 KiB); a larger one fails.
	MaxBytes int `json:"max-bytes,omitempty"`
	// TimeoutMS bounds a request (default 5000).
	TimeoutMS int `json:"timeout-ms,omitempty"`
}

// errNotAllowed is a request to a host or with a method the config does
// not allow.
var errNotAllowed = errcode.New(errcode.BadRequest, "batosd: not allowed by the capability's config")

// capabilityEnv is what the built-in capabilities use.
type capabilityEnv struct {
	now     func() time.Time
	catalog *catalogRetriever // its catalog is set once the model is loaded
}

// setupCapabilities registers the configured capabilities and grants
// each to its objects: a slot named for the capability (clock,
// catalog_search, catalog_ingest, http_get, http_post), holding a
// capability object, made once. A capability left out of the config is
// not registered, so objects granted it before can no longer call it.
func setupCapabilities(ctx context.Context, v *vm.VM, cfg capsConfig, env capabilityEnv) ([]string, error) {
	var granted []string
	grant := func(c vm.Capability, slot string, targets []string) error {
		if err := v.RegisterCapability(c); err != nil {
			return err
		}
		for _, t := range targets {
			if err := grantOnce(ctx, v, t, slot, c.Name); err != nil {
				return err
			}
			granted = append(granted, c.Name+" to "+t)
		}
		return nil
	}
	if c := cfg.Clock; c != nil && len(c.Grant) > 0 {
		if err := grant(clockCapability(env.now), "clock", c.Grant); err != nil {
			return nil, err
		}
	}
	if c := cfg.Catalog; c != nil && len(c.Grant) > 0 {
		if err := grant(searchCapability(env.catalog), "catalog_search", c.Grant); err != nil {
			return nil, err
		}
		if c.Ingest {
			if err := grant(ingestCapability(env.catalog, env.now), "catalog_ingest", c.Grant); err != nil {
				return nil, err
			}
		}
	}
	if c := cfg.HTTP; c != nil && len(c.Grant) > 0 {
		caps, err := httpCapabilities(*c)
		if err != nil {
			return nil, err
		}
		for _, hc := range caps {
			if err := grant(hc, hc.Name, c.Grant); err != nil {
				return nil, err
			}
		}
	}
	return granted, nil
}

// grantOnce grants capability name in slot of target unless the slot
// already holds a capability object for it.
func grantOnce(ctx context.Context, v *vm.VM, target, slot, name string) error {
	held := false
	err := v.Store().View(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		r, ok := o.Slots[slot].(object.Ref)
		if !ok {
			return nil
		}
		c, err := tx.Get(object.OID(r))
		if err != nil {
			return nil
		}
		held = c.Slots["capability"] == object.String(name)
		return nil
	})
	if err != nil || held {
		return err
	}
	_, err = v.GrantCapability(ctx, target, slot, name)
	return err
}

func clockCapability(now func() time.Time) vm.Capability {
	return vm.Capability{
		Name: "clock_now", Doc: "the current time, RFC 3339, UTC", ReadOnly: true, Result: vm.KindStr,
		Func: func(context.Context, *object.Tx, map[string]object.Value) (object.Value, error) {
			return object.String(now().UTC().Format(time.RFC3339)), nil
		},
	}
}

func searchCapability(cr *catalogRetriever) vm.Capability {
	return vm.Capability{
		Name: "catalog_search", Doc: "search the knowledge catalog: the best passages for a query", ReadOnly: true,
		Params: []vm.Param{{Name: "query", Kind: vm.KindStr}, {Name: "limit", Kind: vm.KindNum, Optional: true}},
		Result: vm.KindList,
		Func: func(ctx context.Context, tx *object.Tx, a map[string]object.Value) (object.Value, error) {
			c := cr.c.Load()
			if c == nil {
				return nil, fmt.Errorf("%w: the catalog is not loaded yet", vm.ErrNoModel)
			}
			limit := 3
			if n, ok := a["limit"].(object.Int); ok {
				limit = min(max(int(n), 1), 20)
			}
			res, err := c.Search(ctx, tx, catalog.Query{Text: string(a["query"].(object.String)), Limit: limit})
			if err != nil {
				return nil, err
			}
			out := object.List{}
			for _, r := range res {
				out = append(out, object.Map{"doc_id": object.String(r.DocID), "text": object.String(r.Text), "score": object.Float(r.Score)})
			}
			return out, nil
		},
	}
}

func ingestCapability(cr *catalogRetriever, now func() time.Time) vm.Capability {
	docID := func(a map[string]object.Value) string {
		if s, ok := a["doc_id"].(object.String); ok && s != "" {
			return string(s)
		}
		return fmt.Sprintf("doc-%d", now().UnixNano())
	}
	return vm.Capability{
		Name: "catalog_ingest", Doc: "add a document to the knowledge catalog",
		Params: []vm.Param{{Name: "text", Kind: vm.KindStr}, {Name: "doc_id", Kind: vm.KindStr, Optional: true}},
		Result: vm.KindDict, Fields: []vm.Param{{Name: "doc_id", Kind: vm.KindStr}, {Name: "chunks", Kind: vm.KindNum}},
		Func: func(ctx context.Context, tx *object.Tx, a map[string]object.Value) (object.Value, error) {
			c := cr.c.Load()
			if c == nil {
				return nil, fmt.Errorf("%w: the catalog is not loaded yet", vm.ErrNoModel)
			}
			id := docID(a)
			n, err := c.Index(ctx, tx, id, string(a["text"].(object.String)), nil)
			if err != nil {
				return nil, err
			}
			return object.Map{"doc_id": object.String(id), "chunks": object.Int(n)}, nil
		},
		// The trial's answer: what an ingest answers, nothing indexed.
		DryRun: func(ctx context.Context, tx *object.Tx, a map[string]object.Value) (object.Value, error) {
			return object.Map{"doc_id": object.String(docID(a)), "chunks": object.Int(0)}, nil
		},
	}
}

// httpCapabilities are http_get and, when allowed, http_post, over a
// client that goes only to the allowed hosts (redirects included).
func httpCapabilities(g httpGrant) ([]vm.Capability, error) {
	methods := g.Methods
	if len(methods) == 0 {
		methods = []string{http.MethodGet}
	}
	for _, m := range methods {
		if m != http.MethodGet && m != http.MethodPost {
			return nil, fmt.Errorf("capabilities: http: method %q (GET or POST)", m)
		}
	}
	maxBytes := g.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 64 << 10
	}
	timeout := time.Duration(g.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	allowed := func(u *url.URL) bool {
		return (u.Scheme == "http" || u.Scheme == "https") && u.User == nil && slices.Contains(g.Allow, u.Host)
	}
	client := &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 3 || !allowed(req.URL) {
				return fmt.Errorf("%w: redirect to %s", errNotAllowed, req.URL.Redacted())
			}
			return nil
		},
	}
	var prefixes []string
	for _, h := range g.Allow {
		prefixes = append(prefixes, "http://"+h+"/")
	}
	do := func(ctx context.Context, method, raw, body, ctype string) (object.Value, error) {
		u, err := url.Parse(raw)
		if err != nil || !allowed(u) {
			return nil, fmt.Errorf("%w: %s %s (allowed hosts: %s)", errNotAllowed, method, raw, strings.Join(g.Allow, ", "))
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxBytes)+1))
		if err != nil {
			return nil, err
		}
		if len(b) > maxBytes {
			return nil, fmt.Errorf("%w: response of %s over %d bytes", vm.ErrCapabilityBudget, u.Redacted(), maxBytes)
		}
		return object.Map{"status": object.Int(resp.StatusCode), "body": object.String(b), "type": object.String(resp.Header.Get("Content-Type"))}, nil
	}
	fields := []vm.Param{{Name: "status", Kind: vm.KindNum}, {Name: "body", Kind: vm.KindStr, JSON: true}, {Name: "type", Kind: vm.KindStr}}
	urlParam := vm.Param{Name: "url", Kind: vm.KindStr, Prefixes: prefixes}
	budget := vm.Budget{MaxBytesOut: maxBytes + 1024, Timeout: timeout + time.Second}
	var out []vm.Capability
	if slices.Contains(methods, http.MethodGet) {
		out = append(out, vm.Capability{
			Name: "http_get", Doc: "GET a URL on an allowed host; the response's status, body and content type", ReadOnly: true,
			Params: []vm.Param{urlParam}, Result: vm.KindDict, Fields: fields, Budget: budget,
			Func: func(ctx context.Context, _ *object.Tx, a map[string]object.Value) (object.Value, error) {
				return do(ctx, http.MethodGet, string(a["url"].(object.String)), "", "")
			},
		})
	}
	if slices.Contains(methods, http.MethodPost) {
		out = append(out, vm.Capability{
			Name: "http_post", Doc: "POST a body to a URL on an allowed host; the response's status, body and content type",
			Params: []vm.Param{urlParam, {Name: "body", Kind: vm.KindStr}, {Name: "type", Kind: vm.KindStr, Optional: true}},
			Result: vm.KindDict, Fields: fields, Budget: budget,
			Func: func(ctx context.Context, _ *object.Tx, a map[string]object.Value) (object.Value, error) {
				ctype := "application/json"
				if s, ok := a["type"].(object.String); ok {
					ctype = string(s)
				}
				return do(ctx, http.MethodPost, string(a["url"].(object.String)), string(a["body"].(object.String)), ctype)
			},
		})
	}
	if len(g.Allow) == 0 {
		return out, errors.New("capabilities: http: granted with an empty allow list (no host could be reached)")
	}
	return out, nil
}
