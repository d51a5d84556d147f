package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/batos/batos/bridge/wire"
)

func ingestCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	id := fs.String("id", "", "the document's `ID` (default: the server assigns one)")
	meta := keyValues{}
	fs.Var(meta, "meta", "metadata `key=value` (repeatable)")
	return func(ctx context.Context, pos []string) error {
		if err := wantArgs("ingest", pos, "FILE|-"); err != nil {
			return err
		}
		text, err := a.readInput("ingest", pos[0])
		if err != nil {
			return err
		}
		req := &wire.Request{Command: wire.CmdIngest, DocID: *id, Text: text}
		if len(meta) > 0 {
			req.Metadata = wire.Map(meta)
		}
		res, err := a.call(ctx, req)
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		var ir wire.IngestResult
		if err := (wire.Value{V: res}).Decode(&ir); err != nil {
			return fmt.Errorf("ingest: unexpected result: %w", err)
		}
		fmt.Fprintf(a.stdout, "ingested %s: %d chunk(s)\n", ir.DocID, ir.Chunks)
		return nil
	}
}

func searchCommand(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	mode := fs.String("mode", "auto", "`method`: auto, bm25, vector or hybrid")
	limit := fs.Int("limit", 0, "at most `N` hits (0: the server's default)")
	filter := keyValues{}
	fs.Var(filter, "filter", "only documents whose metadata has `key=value` (repeatable)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) == 0 {
			return wantArgs("search", pos, "QUERY")
		}
		switch strings.ToLower(*mode) {
		case "auto", "bm25", "text", "vector", "hybrid":
		default:
			return usagef("--mode %q: want auto, bm25, vector or hybrid", *mode)
		}
		if *limit < 0 {
			return usagef("--limit must not be negative")
		}
		// Several words without quotes are one query.
		req := &wire.Request{Command: wire.CmdSearch, Query: strings.Join(pos, " "), Mode: *mode, Limit: int64(*limit)}
		if len(filter) > 0 {
			req.Filters = wire.Map(filter)
		}
		res, err := a.call(ctx, req)
		if err != nil {
			return err
		}
		if a.g.json {
			return writeJSON(a.stdout, res)
		}
		var sr wire.SearchResult
		if err := (wire.Value{V: res}).Decode(&sr); err != nil {
			return fmt.Errorf("search: unexpected result: %w", err)
		}
		if len(sr.Hits) == 0 {
			fmt.Fprintln(a.stdout, "no hits")
			return nil
		}
		for i, h := range sr.Hits {
			name := h.DocID
			if h.ChunkID != "" {
				name += " chunk " + h.ChunkID
			}
			fmt.Fprintf(a.stdout, "%d. %s  score %.4g\n", i+1, name, h.Score)
			if len(h.Metadata) > 0 {
				var kv []string
				for _, k := range sortedKeys(h.Metadata) {
					kv = append(kv, k+"="+formatValue(h.Metadata[k]))
				}
				fmt.Fprintf(a.stdout, "   %s\n", strings.Join(kv, " "))
			}
			fmt.Fprintf(a.stdout, "   %s\n", shorten(h.Text, 240))
		}
		return nil
	}
}
