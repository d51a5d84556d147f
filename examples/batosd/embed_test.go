package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batos/batos/bridge"
	"github.com/batos/batos/bridge/wire"
	"github.com/batos/batos/llama/gguf"
)

const embedDoc = "The living image keeps every object in one Pebble store. " +
	"A method learned by the Composite Mind is saved as Starlark source. " +
	"Bananas ripen faster beside apples in a paper bag."

func statusExtra(t *testing.T, c *bridge.Client) map[string]any {
	t.Helper()
	st := call(t, c, &wire.Request{Command: wire.CmdStatus}).(map[string]any)
	extra, _ := st["extra"].(map[string]any)
	return extra
}

func vectorSearch(t *testing.T, c *bridge.Client, mode string) []any {
	t.Helper()
	res := call(t, c, &wire.Request{Command: wire.CmdSearch, Query: "Pebble store objects", Mode: mode, Limit: 3}).(map[string]any)
	hits, _ := res["hits"].([]any)
	return hits
}

// waitVectors waits until status says the catalog's vectors are ready.
func waitVectors(t *testing.T, c *bridge.Client) map[string]any {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		extra := statusExtra(t, c)
		if extra["embedder_vectors"] == "ready" {
			return extra
		}
		if time.Now().After(deadline) {
			t.Fatalf("vectors not ready: %v", extra)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEmbedModel: the demo imports its generated MiniLM-shaped embedding
// model into the image and the catalog embeds with it; a restart with
// another -embed-model re-embeds the catalog in the background, after
// which vector search works again; without an embedding model the
// catalog falls back to the chat model and says so once.
func TestEmbedModel(t *testing.T) {
	data := t.TempDir()
	endpoint := freeEndpoint(t)
	d := startDaemon(t, data, endpoint)
	c, err := bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	extra := waitVectors(t, c)
	if e := fmt.Sprint(extra["embedder"]); !strings.Contains(e, "minilm") || !strings.Contains(e, "384 dims") {
		t.Fatalf("embedder %q, want the demo's MiniLM shape", e)
	}
	call(t, c, &wire.Request{Command: wire.CmdIngest, DocID: "doc", Text: embedDoc})
	for _, mode := range []string{"vector", "hybrid"} {
		if hits := vectorSearch(t, c, mode); len(hits) == 0 {
			t.Fatalf("%s search found nothing", mode)
		}
	}
	c.Close()
	d.stop(syscall.SIGTERM)

	other := filepath.Join(t.TempDir(), "tiny-bert.gguf")
	if err := gguf.WriteBERT(other, gguf.TinyBERT()); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, data, endpoint, "-embed-model", other)
	c, err = bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	extra = waitVectors(t, c)
	if e := fmt.Sprint(extra["embedder"]); !strings.Contains(e, "tiny-bert") || !strings.Contains(e, "32 dims") {
		t.Fatalf("embedder after -embed-model: %q", e)
	}
	d.waitLog("[Catalog] re-embedding complete", time.Minute)
	hits := vectorSearch(t, c, "vector")
	if len(hits) == 0 || !strings.Contains(fmt.Sprint(hits[0].(map[string]any)["text"]), "Pebble") {
		t.Fatalf("vector search after re-embedding: %v", hits)
	}
	c.Close()
	d.stop(syscall.SIGTERM)

	// A fresh image with a chat model and no embedding model.
	fresh := t.TempDir()
	d = startDaemon(t, fresh, endpoint, "-model", filepath.Join(data, "demo", "demo-llama.gguf"))
	c, err = bridge.Dial(context.Background(), endpoint, bridge.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if e := fmt.Sprint(waitVectors(t, c)["embedder"]); !strings.Contains(e, "chat model fallback") {
		t.Fatalf("embedder without a model: %q", e)
	}
	if n := strings.Count(d.logText(), "no -embed-model"); n != 1 {
		t.Errorf("the fallback was logged %d times", n)
	}
	call(t, c, &wire.Request{Command: wire.CmdIngest, DocID: "doc", Text: embedDoc})
	if hits := vectorSearch(t, c, "vector"); len(hits) == 0 {
		t.Fatal("fallback vector search found nothing")
	}
}
