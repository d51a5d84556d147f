package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batos/batos/guardian"
	"github.com/batos/batos/object"
)

// AuthorArchitect is the author of methods installed by hand (SetSlot,
// RevertMethod) rather than written by a persona.
const AuthorArchitect = "architect"

// MethodVersion is one installed version of a method, as the method
// history keeps it.
type MethodVersion struct {
	Target    object.OID
	Selector  string
	Version   int64
	Source    string
	Author    string     // a persona, or AuthorArchitect
	Cycle     object.OID // the cycle that wrote it, 0 if none
	Verdict   string
	Findings  []string
	Installed time.Time
	Note      string // how it came to be installed ("reverted to version 2")
	Current   bool   // whether the slot holds this version now
}

const historyPrefix = "method_history/"

func historyKey(oid object.OID, selector string, version int64) []byte {
	return fmt.Appendf(nil, "%s%016x/%s/%016x", historyPrefix, uint64(oid), selector, uint64(version))
}

func historySelectorPrefix(oid object.OID, selector string) []byte {
	return fmt.Appendf(nil, "%s%016x/%s/", historyPrefix, uint64(oid), selector)
}

// versionOf describes m, installed on oid.
func versionOf(oid object.OID, m *object.Method, note string) MethodVersion {
	return MethodVersion{Target: oid, Selector: m.Selector, Version: m.Version, Source: m.Source, Author: m.Author,
		Cycle: m.Cycle, Verdict: m.Verdict, Findings: m.Findings, Installed: m.Created, Note: note}
}

// recordVersion adds m, installed on oid in tx, to the method history.
func recordVersion(tx *object.Tx, oid object.OID, m *object.Method, note string) error {
	b, err := json.Marshal(versionOf(oid, m, note))
	if err != nil {
		return err
	}
	return tx.SetKV(historyKey(oid, m.Selector, m.Version), b)
}

// installMethod puts m in slot name of o (and o in tx), numbering its
// version after the method it replaces, and records it in the history.
func (v *VM) installMethod(tx *object.Tx, o *object.Object, name string, m *object.Method, note string) error {
	m.Selector = name
	if m.Created.IsZero() {
		m.Created = v.opts.Now()
	}
	if m.Version == 0 {
		last, err := lastVersion(tx, o.OID, name)
		if err != nil {
			return err
		}
		if old, ok := o.Slots[name].(*object.Method); ok {
			last = max(last, old.Version)
		}
		m.Version = last + 1
	}
	o.Set(name, m)
	if err := tx.Put(o); err != nil {
		return err
	}
	return recordVersion(tx, o.OID, m, note)
}

// lastVersion is the newest version of oid's method name in the history
// (0 when it has none): a method removed and written again continues the
// numbering instead of overwriting version 1.
func lastVersion(tx *object.Tx, oid object.OID, name string) (int64, error) {
	var last int64
	err := tx.ScanKVReverse(historySelectorPrefix(oid, name), func(_, val []byte) error {
		var mv MethodVersion
		if err := json.Unmarshal(val, &mv); err != nil {
			return err
		}
		last = mv.Version
		return errStopScan
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return last, err
}

var errStopScan = errors.New("stop")

// MethodHistory returns every version of the method selector of target
// that was installed, oldest first, the one the slot holds now marked
// Current. A method installed before the image kept a history appears
// as its current version only. An object without such a method, now or
// before, has an empty history.
func (v *VM) MethodHistory(ctx context.Context, target, selector string) ([]MethodVersion, error) {
	if !guardian.ValidSelector(selector) {
		return nil, fmt.Errorf("%w: %q", ErrBadSelector, selector)
	}
	var out []MethodVersion
	err := v.store.View(ctx, func(tx *object.Tx) error {
		o, err := tx.GetTarget(target)
		if err != nil {
			return err
		}
		oid := o.OID
		err = tx.ScanKV(historySelectorPrefix(oid, selector), func(_, val []byte) error {
			var mv MethodVersion
			if err := json.Unmarshal(val, &mv); err != nil {
				return fmt.Errorf("vm: method history of %s.%s: %w", target, selector, err)
			}
			out = append(out, mv)
			return nil
		})
		if err != nil {
			return err
		}
		cur, ok := o.Slots[selector].(*object.Method)
		if !ok {
			return nil
		}
		for i := range out {
			if out[i].Version == cur.Version && out[i].Source == cur.Source {
				out[i].Current = true
				return nil
			}
		}
		mv := versionOf(oid, cur, "installed before the image kept a method history")
		mv.Selector, mv.Current = selector, true
		out = append(out, mv)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vm: history %s.%s: %w", target, selector, err)
	}
	return out, nil
}

// RevertMethod installs version of target's method selector again, as a
// new version (audited again by the guardian: a version the current
// policy refuses is an AuditError and changes nothing), and returns the
// new version's number.
func (v *VM) RevertMethod(ctx context.Context, target, selector string, version int64) (int64, error) {
	hist, err := v.MethodHistory(ctx, target, selector)
	if err != nil {
		return 0, err
	}
	var old *MethodVersion
	for i := range hist {
		if hist[i].Version == version {
			old = &hist[i]
		}
	}
	if old == nil {
		return 0, fmt.Errorf("vm: revert %s.%s: %w: no version %d", target, selector, object.ErrNotFound, version)
	}
	if err := guardian.Check(old.Source, guardian.DefaultPolicy(selector)); err != nil {
		return 0, &AuditError{Selector: selector, Err: err}
	}
	var installed int64
	err = v.store.Update(ctx, func(tx *object.Tx) error {
		o, err := tx.Get(old.Target)
		if err != nil {
			return err
		}
		m := &object.Method{Source: old.Source, Author: old.Author, Cycle: old.Cycle, Verdict: VerdictPassed}
		m.Findings = []string{fmt.Sprintf("reverted to version %d by the architect", version)}
		if err := v.installMethod(tx, o, selector, m, strings.TrimSpace(m.Findings[0])); err != nil {
			return err
		}
		installed = m.Version
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("vm: revert %s.%s: %w", target, selector, err)
	}
	return installed, nil
}
