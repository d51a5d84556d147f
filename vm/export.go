package vm

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// The export format is JSON lines, one object per line, readable and
// diffable:
//
//	{"oid":3,"roots":["genesis_obj"],"slots":{"motto":{"s":"becoming"},"parent*":{"ref":2,"root":"traits_obj"}}}
//
// A value is a one-key object: "b" (bool), "i" (int), "f" (float), "s"
// (string), "bytes" (base64), "ref" (an OID, with "root" when it names a
// root, so references to objects outside the export resolve by name),
// "list", "map", "prim" (a primitive's name), "method" (source and
// metadata) or "blob" (SHA-256 and size: blobs are not exported; the
// importing image must hold a blob with those bytes).

// exportLine is one object of an export.
type exportLine struct {
	OID   object.OID                 `json:"oid"`
	Roots []string                   `json:"roots,omitempty"`
	Slots map[string]json.RawMessage `json:"slots"`
}

type exportMethod struct {
	Source   string     `json:"source"`
	Author   string     `json:"author,omitempty"`
	Cycle    object.OID `json:"cycle,omitempty"`
	Verdict  string     `json:"verdict,omitempty"`
	Findings []string   `json:"findings,omitempty"`
	Created  time.Time  `json:"created"`
	Version  int64      `json:"version"`
}

type exportBlob struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// maxExportDepth bounds nesting when reading an export.
const maxExportDepth = 64

// Export writes the objects targets name (root names or OIDs; none: every
// object of the image) to w as JSON lines, read in one transaction.
func Export(ctx context.Context, store *object.Store, w io.Writer, targets ...string) (int, error) {
	bw := bufio.NewWriter(w)
	n := 0
	err := store.View(ctx, func(tx *object.Tx) error {
		roots, err := tx.Roots()
		if err != nil {
			return err
		}
		names := map[object.OID][]string{}
		for name, oid := range roots {
			names[oid] = append(names[oid], name)
		}
		var oids []object.OID
		if len(targets) == 0 {
			if err := tx.Objects(func(oid object.OID) error { oids = append(oids, oid); return nil }); err != nil {
				return err
			}
		}
		for _, t := range targets {
			oid, err := tx.Resolve(t)
			if err != nil {
				return err
			}
			oids = append(oids, oid)
		}
		enc := json.NewEncoder(bw)
		for _, oid := range oids {
			o, err := tx.Get(oid)
			if err != nil {
				return err
			}
			line := exportLine{OID: oid, Roots: slices.Sorted(slices.Values(names[oid])), Slots: map[string]json.RawMessage{}}
			for name, v := range o.Slots {
				b, err := json.Marshal(exportValue(v, names))
				if err != nil {
					return err
				}
				line.Slots[name] = b
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("vm: export: %w", err)
	}
	return n, bw.Flush()
}

func exportValue(v object.Value, names map[object.OID][]string) any {
	switch x := v.(type) {
	case nil:
		return nil
	case object.Bool:
		return map[string]any{"b": bool(x)}
	case object.Int:
		return map[string]any{"i": int64(x)}
	case object.Float:
		return map[string]any{"f": float64(x)}
	case object.String:
		return map[string]any{"s": string(x)}
	case object.Bytes:
		return map[string]any{"bytes": base64.StdEncoding.EncodeToString(x)}
	case object.Ref:
		m := map[string]any{"ref": uint64(x)}
		if ns := names[object.OID(x)]; len(ns) > 0 {
			m["root"] = slices.Min(ns)
		}
		return m
	case object.List:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = exportValue(e, names)
		}
		return map[string]any{"list": l}
	case object.Map:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = exportValue(e, names)
		}
		return map[string]any{"map": m}
	case object.Primitive:
		return map[string]any{"prim": string(x)}
	case *object.Method:
		return map[string]any{"method": exportMethod{x.Source, x.Author, x.Cycle, x.Verdict, x.Findings, x.Created, x.Version}}
	case object.BlobRef:
		return map[string]any{"blob": exportBlob{hex.EncodeToString(x.SHA256[:]), x.Size}}
	}
	return map[string]any{"unsupported": fmt.Sprintf("%T", v)}
}

// ImportStats says what Import did.
type ImportStats struct {
	Objects int                       // objects created
	Methods int                       // methods among their slots, each audited
	OIDs    map[object.OID]object.OID // exported OID -> new OID
}

// Import reads an export (see Export) into store in one transaction: each
// object gets a new OID, references to exported objects follow them,
// references to others resolve by the root name the export gives (else
// the import fails), roots are named again (a root the image already has
// is an error), and every method is audited by the guardian as if ALFRED
// had written it (a refused one fails the import with an *AuditError).
// Nothing is imported unless everything is.
func Import(ctx context.Context, store *object.Store, r io.Reader) (ImportStats, error) {
	var lines []exportLine
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var l exportLine
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			return ImportStats{}, fmt.Errorf("vm: import: line %d: %w: %v", len(lines)+1, object.ErrInvalid, err)
		}
		if l.OID == 0 {
			return ImportStats{}, fmt.Errorf("vm: import: line %d: %w: no oid", len(lines)+1, object.ErrInvalid)
		}
		lines = append(lines, l)
	}
	st := ImportStats{OIDs: map[object.OID]object.OID{}}
	err := store.Update(ctx, func(tx *object.Tx) error {
		st.Objects, st.Methods = 0, 0
		clear(st.OIDs)
		blobs, err := blobsByHash(ctx, store)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if _, dup := st.OIDs[l.OID]; dup {
				return fmt.Errorf("%w: object %d twice", object.ErrInvalid, l.OID)
			}
			o, err := tx.New(nil)
			if err != nil {
				return err
			}
			st.OIDs[l.OID] = o.OID
		}
		im := &importer{tx: tx, oids: st.OIDs, blobs: blobs}
		for _, l := range lines {
			o, err := tx.Get(st.OIDs[l.OID])
			if err != nil {
				return err
			}
			for _, name := range slices.Sorted(maps.Keys(l.Slots)) {
				v, err := im.value(l.Slots[name], 0)
				if err != nil {
					return fmt.Errorf("object %d, slot %s: %w", l.OID, name, err)
				}
				if m, ok := v.(*object.Method); ok {
					m.Selector = name
					if err := guardian.Check(m.Source, guardian.DefaultPolicy(name)); err != nil {
						return &AuditError{Selector: name, Err: err}
					}
					st.Methods++
				}
				o.Set(name, v)
			}
			if err := tx.Put(o); err != nil {
				return err
			}
			for _, root := range l.Roots {
				if _, err := tx.Root(root); err == nil {
					return fmt.Errorf("%w: root %q exists in this image", object.ErrInvalid, root)
				} else if !errors.Is(err, object.ErrNotFound) {
					return err
				}
				if err := tx.SetRoot(root, o.OID); err != nil {
					return err
				}
			}
			st.Objects++
		}
		return nil
	})
	if err != nil {
		return ImportStats{}, fmt.Errorf("vm: import: %w", err)
	}
	return st, nil
}

func blobsByHash(ctx context.Context, store *object.Store) (map[string]object.BlobRef, error) {
	refs, err := store.Blobs(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]object.BlobRef, len(refs))
	for _, b := range refs {
		out[b.Hex()] = b
	}
	return out, nil
}

type importer struct {
	tx    *object.Tx
	oids  map[object.OID]object.OID
	blobs map[string]object.BlobRef
}

func (im *importer) value(raw json.RawMessage, depth int) (object.Value, error) {
	if depth > maxExportDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", object.ErrInvalid, maxExportDepth)
	}
	if string(raw) == "null" {
		return nil, nil
	}
	var tagged map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tagged); err != nil || len(tagged) == 0 {
		return nil, fmt.Errorf("%w: a value is a one-key object, got %.40s", object.ErrInvalid, raw)
	}
	if _, ok := tagged["ref"]; ok && len(tagged) <= 2 {
		return im.ref(tagged)
	}
	if len(tagged) != 1 {
		return nil, fmt.Errorf("%w: a value is a one-key object, got %.40s", object.ErrInvalid, raw)
	}
	for tag, body := range tagged {
		switch tag {
		case "b":
			var b bool
			err := json.Unmarshal(body, &b)
			return object.Bool(b), invalid(err)
		case "i":
			var i int64
			err := json.Unmarshal(body, &i)
			return object.Int(i), invalid(err)
		case "f":
			var f float64
			err := json.Unmarshal(body, &f)
			return object.Float(f), invalid(err)
		case "s":
			var s string
			err := json.Unmarshal(body, &s)
			return object.String(s), invalid(err)
		case "bytes":
			var s string
			if err := json.Unmarshal(body, &s); err != nil {
				return nil, invalid(err)
			}
			b, err := base64.StdEncoding.DecodeString(s)
			return object.Bytes(b), invalid(err)
		case "prim":
			var s string
			err := json.Unmarshal(body, &s)
			return object.Primitive(s), invalid(err)
		case "list":
			var raws []json.RawMessage
			if err := json.Unmarshal(body, &raws); err != nil {
				return nil, invalid(err)
			}
			l := make(object.List, len(raws))
			for i, r := range raws {
				v, err := im.value(r, depth+1)
				if err != nil {
					return nil, err
				}
				l[i] = v
			}
			return l, nil
		case "map":
			var raws map[string]json.RawMessage
			if err := json.Unmarshal(body, &raws); err != nil {
				return nil, invalid(err)
			}
			m := make(object.Map, len(raws))
			for k, r := range raws {
				v, err := im.value(r, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			return m, nil
		case "method":
			var em exportMethod
			if err := json.Unmarshal(body, &em); err != nil {
				return nil, invalid(err)
			}
			return &object.Method{Source: em.Source, Author: em.Author, Cycle: em.Cycle, Verdict: VerdictPassed,
				Findings: em.Findings, Created: em.Created, Version: em.Version}, nil
		case "blob":
			var eb exportBlob
			if err := json.Unmarshal(body, &eb); err != nil {
				return nil, invalid(err)
			}
			b, ok := im.blobs[eb.SHA256]
			if !ok || b.Size != eb.Size {
				return nil, fmt.Errorf("%w: blob %s (%d bytes) is not in this image", object.ErrNotFound, eb.SHA256, eb.Size)
			}
			return b, nil
		}
		return nil, fmt.Errorf("%w: unknown value tag %q", object.ErrInvalid, tag)
	}
	panic("unreachable")
}

func (im *importer) ref(tagged map[string]json.RawMessage) (object.Value, error) {
	var old uint64
	if err := json.Unmarshal(tagged["ref"], &old); err != nil {
		return nil, invalid(err)
	}
	if n, ok := im.oids[object.OID(old)]; ok {
		return object.Ref(n), nil
	}
	var root string
	if raw, ok := tagged["root"]; ok {
		if err := json.Unmarshal(raw, &root); err != nil {
			return nil, invalid(err)
		}
	} else if len(tagged) == 2 {
		return nil, fmt.Errorf("%w: a reference has only \"ref\" and \"root\"", object.ErrInvalid)
	}
	if root == "" {
		return nil, fmt.Errorf("%w: object %d is neither exported nor a root", object.ErrNotFound, old)
	}
	oid, err := im.tx.Root(root)
	if err != nil {
		return nil, fmt.Errorf("reference to root %q: %w", root, err)
	}
	return object.Ref(oid), nil
}

func invalid(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %v", object.ErrInvalid, err)
	}
	return nil
}
