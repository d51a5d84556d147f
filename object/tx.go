package object

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/cockroachdb/pebble/v2"
)

// Tx is a transaction over the store. It reads its own writes. It is not
// safe for concurrent use and must not be used after the function it was
// passed to returns.
type Tx struct {
	s        *Store
	b        *pebble.Batch    // created on first write
	snap     *pebble.Snapshot // read-only transactions read this
	snapSeq  uint64           // commit sequence of snap
	readOnly bool
	done     bool

	reads     map[string]uint64   // key -> commit seq observed before reading it
	writes    map[string]struct{} // keys written
	cache     map[OID]*Object     // decoded objects, shared; never handed out
	doomed    bool
	allocated bool
	onCommit  []func()

	// Savepoints (savepoint.go). newWrites lists the keys first written
	// while a savepoint was live, in order; iterating counts open scans.
	savepoints    []savepoint
	nextSavepoint uint64
	newWrites     []string
	iterating     int
}

// Doom marks the transaction for rollback whatever its function returns.
func (tx *Tx) Doom() { tx.doomed = true }

// Doomed reports whether Doom was called.
func (tx *Tx) Doomed() bool { return tx.doomed }

// OnCommit registers f to run after the transaction commits successfully.
func (tx *Tx) OnCommit(f func()) { tx.onCommit = append(tx.onCommit, f) }

// PendingBytes is the size of the transaction's uncommitted writes, for
// callers that bound how much one transaction may write.
func (tx *Tx) PendingBytes() int {
	if tx.b == nil {
		return 0
	}
	return tx.b.Len()
}

// ReadOnly reports whether the transaction is a View.
func (tx *Tx) ReadOnly() bool { return tx.readOnly }

func (tx *Tx) finish() {
	tx.done = true
	if !tx.readOnly {
		tx.s.mu.Lock()
		delete(tx.s.active, tx)
		tx.s.mu.Unlock()
	}
	if tx.b != nil {
		_ = tx.b.Close()
	}
	if tx.snap != nil {
		_ = tx.snap.Close()
	}
}

func (tx *Tx) commit() error {
	if tx.b == nil || tx.b.Empty() {
		return tx.s.validateReadOnly(tx)
	}
	return tx.s.commitTx(tx)
}

// reader returns what the transaction reads through: its snapshot if it
// is read-only, its indexed batch once it has written, the database before.
func (tx *Tx) reader() pebble.Reader {
	switch {
	case tx.b != nil:
		return tx.b
	case tx.snap != nil:
		return tx.snap
	}
	return tx.s.db
}

// batch returns the transaction's indexed batch, creating it on first write.
func (tx *Tx) batch() *pebble.Batch {
	if tx.b == nil {
		tx.b = tx.s.db.NewIndexedBatch()
	}
	return tx.b
}

func (tx *Tx) checkWrite() error {
	if tx.done {
		return fmt.Errorf("object: transaction used after it ended")
	}
	if tx.readOnly {
		return ErrReadOnly
	}
	return nil
}

// get reads key through the batch, recording the read for validation.
// The returned slice is a copy.
func (tx *Tx) get(key []byte) ([]byte, error) {
	if tx.done {
		return nil, fmt.Errorf("object: transaction used after it ended")
	}
	tx.noteRead(string(key))
	v, closer, err := tx.reader().Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// noteRead records the commit sequence number seen before reading key, for
// validation at commit (and for the shared cache's freshness check).
func (tx *Tx) noteRead(ks string) {
	if _, wrote := tx.writes[ks]; wrote {
		return
	}
	if _, seen := tx.reads[ks]; !seen {
		if tx.reads == nil {
			tx.reads = make(map[string]uint64)
		}
		tx.reads[ks] = tx.s.seq.Load()
	}
}

func (tx *Tx) set(key, value []byte) error {
	if err := tx.checkWrite(); err != nil {
		return err
	}
	tx.noteWrite(key)
	return tx.batch().Set(key, value, nil)
}

func (tx *Tx) del(key []byte) error {
	if err := tx.checkWrite(); err != nil {
		return err
	}
	tx.noteWrite(key)
	return tx.batch().Delete(key, nil)
}

func (tx *Tx) noteWrite(key []byte) {
	if tx.writes == nil {
		tx.writes = make(map[string]struct{})
	}
	if len(tx.savepoints) == 0 {
		tx.writes[string(key)] = struct{}{}
		return
	}
	if _, ok := tx.writes[string(key)]; !ok {
		ks := string(key)
		tx.writes[ks] = struct{}{}
		tx.newWrites = append(tx.newWrites, ks)
	}
}

// load returns the decoded object, shared with the transaction's cache.
// Callers must not modify it.
func (tx *Tx) load(oid OID) (*Object, error) {
	if o, ok := tx.cache[oid]; ok {
		return o, nil
	}
	if oid == 0 {
		return nil, fmt.Errorf("%w: OID 0", ErrNotFound)
	}
	key := objectKey(oid)
	if _, wrote := tx.writes[string(key)]; !wrote {
		tx.noteRead(string(key)) // before the cache read: a commit after it must conflict
		maxSeq := ^uint64(0)
		if tx.snap != nil {
			maxSeq = tx.snapSeq
		}
		if o := tx.s.cached(oid, maxSeq); o != nil {
			tx.remember(o)
			return o, nil
		}
	}
	data, err := tx.get(key)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: OID %d", ErrNotFound, oid)
	}
	if err != nil {
		return nil, err
	}
	o, err := DecodeObject(oid, data)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Key = key
		}
		return nil, err
	}
	if _, wrote := tx.writes[string(key)]; !wrote {
		readSeq := tx.reads[string(key)]
		if tx.snap != nil {
			readSeq = tx.snapSeq
		}
		tx.s.cache(o, readSeq)
	}
	tx.remember(o)
	return o, nil
}

func (tx *Tx) remember(o *Object) {
	if tx.cache == nil {
		tx.cache = make(map[OID]*Object)
	}
	tx.cache[o.OID] = o
}

// Get returns a private copy of the object oid, or an error matching
// ErrNotFound.
func (tx *Tx) Get(oid OID) (*Object, error) {
	o, err := tx.load(oid)
	if err != nil {
		return nil, err
	}
	return o.Copy(), nil
}

// Exists reports whether the object oid exists.
func (tx *Tx) Exists(oid OID) (bool, error) {
	_, err := tx.load(oid)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Put stores o under its OID, replacing what was there.
func (tx *Tx) Put(o *Object) error {
	if o == nil || o.OID == 0 {
		return fmt.Errorf("%w: Put of an object without OID", ErrInvalid)
	}
	data, err := AppendObject(nil, o)
	if err != nil {
		return err
	}
	if err := tx.set(objectKey(o.OID), data); err != nil {
		return err
	}
	if tx.cache == nil {
		tx.cache = make(map[OID]*Object)
	}
	tx.cache[o.OID] = o.Copy()
	return nil
}

// New creates and stores a new object with a fresh OID and a copy of slots.
func (tx *Tx) New(slots map[string]Value) (*Object, error) {
	if err := tx.checkWrite(); err != nil {
		return nil, err
	}
	o := &Object{OID: OID(tx.s.allocID()), Slots: make(map[string]Value, len(slots))}
	tx.allocated = true
	for k, v := range slots {
		o.Slots[k] = CloneValue(v)
	}
	if err := tx.Put(o); err != nil {
		return nil, err
	}
	return o, nil
}

// Delete removes the object oid. Deleting a missing object is not an error.
func (tx *Tx) Delete(oid OID) error {
	delete(tx.cache, oid)
	return tx.del(objectKey(oid))
}

// Clone copies the object oid into a new object with a fresh OID: nested
// lists, maps and methods are copied, references are shared.
func (tx *Tx) Clone(oid OID) (*Object, error) {
	o, err := tx.load(oid)
	if err != nil {
		return nil, err
	}
	return tx.New(o.Slots)
}

// Lookup finds slot name on oid or, failing that, on its parents,
// depth-first in order (see Object.Parents). It returns a copy of the value
// and the OID of the object that holds it. A miss returns a
// *NotUnderstoodError. Cycles and diamonds in the parent graph are visited
// once.
func (tx *Tx) Lookup(oid OID, name string) (Value, OID, error) {
	var stack [16]OID
	visited := stack[:0]
	v, holder, found, err := tx.lookup(oid, name, &visited)
	if err != nil {
		return nil, 0, err
	}
	if !found {
		return nil, 0, &NotUnderstoodError{OID: oid, Slot: name}
	}
	return CloneValue(v), holder, nil
}

func (tx *Tx) lookup(oid OID, name string, visited *[]OID) (Value, OID, bool, error) {
	if slices.Contains(*visited, oid) {
		return nil, 0, false, nil
	}
	*visited = append(*visited, oid)
	o, err := tx.load(oid)
	if err != nil {
		return nil, 0, false, err
	}
	if v, ok := o.Slots[name]; ok {
		return v, oid, true, nil
	}
	for _, p := range o.Parents() {
		v, holder, found, err := tx.lookup(p, name, visited)
		if errors.Is(err, ErrNotFound) {
			continue // a dangling parent reference is skipped
		}
		if err != nil || found {
			return v, holder, found, err
		}
	}
	return nil, 0, false, nil
}

// Delegates calls fn with the object oid and then with its parents, depth
// first in slot order as Lookup searches them, each once and at most max
// objects (max <= 0: no bound). A parent that no longer exists is skipped
// (it is still named by the reference that points at it); oid itself
// must exist. fn sees the transaction's own copy: it must not modify it.
func (tx *Tx) Delegates(oid OID, max int, fn func(*Object)) error {
	visited := map[OID]bool{}
	var walk func(id OID) error
	walk = func(id OID) error {
		if visited[id] || (max > 0 && len(visited) >= max) {
			return nil
		}
		visited[id] = true
		o, err := tx.load(id)
		if errors.Is(err, ErrNotFound) && id != oid {
			return nil
		}
		if err != nil {
			return err
		}
		fn(o)
		for _, p := range o.Parents() {
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(oid)
}

// SetRoot names oid as a root ("genesis_obj", "traits_obj", ...).
func (tx *Tx) SetRoot(name string, oid OID) error {
	if name == "" || oid == 0 {
		return fmt.Errorf("%w: root %q -> %d", ErrInvalid, name, oid)
	}
	return tx.set(rootKey(name), binary.BigEndian.AppendUint64(nil, uint64(oid)))
}

// Root returns the OID named name, or an error matching ErrNotFound.
func (tx *Tx) Root(name string) (OID, error) {
	v, err := tx.get(rootKey(name))
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("%w: root %q", ErrNotFound, name)
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, &CorruptError{Key: rootKey(name), Reason: "root value is not 8 bytes"}
	}
	return OID(binary.BigEndian.Uint64(v)), nil
}

// Roots returns every root name and its OID.
func (tx *Tx) Roots() (map[string]OID, error) {
	out := make(map[string]OID)
	err := tx.scan([]byte{prefixRoot}, func(k, v []byte) error {
		if len(v) == 8 {
			out[string(k[1:])] = OID(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return out, err
}

// Resolve turns a message target into an OID: a root name, or a decimal
// OID of an existing object.
func (tx *Tx) Resolve(target string) (OID, error) {
	oid, err := tx.Root(target)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return oid, err
	}
	n, perr := strconv.ParseUint(target, 10, 64)
	if perr != nil || n == 0 {
		return 0, fmt.Errorf("%w: no root or object %q", ErrNotFound, target)
	}
	if ok, err := tx.Exists(OID(n)); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: OID %d", ErrNotFound, n)
		}
		return 0, err
	}
	return OID(n), nil
}

// scan iterates keys with prefix in ascending order, through the
// transaction's reader (its own writes merged over the database, or its
// snapshot). Reads through scan are not validated at commit.
func (tx *Tx) scan(prefix []byte, fn func(k, v []byte) error) error {
	return tx.iterate(prefix, false, fn)
}

// scanReverse is scan in descending key order.
func (tx *Tx) scanReverse(prefix []byte, fn func(k, v []byte) error) error {
	return tx.iterate(prefix, true, fn)
}

func (tx *Tx) iterate(prefix []byte, reverse bool, fn func(k, v []byte) error) error {
	if tx.done {
		return fmt.Errorf("object: transaction used after it ended")
	}
	it, err := tx.reader().NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	tx.iterating++
	defer func() { tx.iterating-- }()
	first, next := it.First, it.Next
	if reverse {
		first, next = it.Last, it.Prev
	}
	for valid := first(); valid; valid = next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// CheckRefs fails with ErrNotFound when a reference in v (in lists and
// maps too) names an object that does not exist.
func (tx *Tx) CheckRefs(v Value) error {
	for _, oid := range AppendRefs(nil, v) {
		if ok, err := tx.Exists(oid); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: a reference names object %d, which does not exist", ErrNotFound, oid)
		}
	}
	return nil
}

// GetTarget is Resolve then Get: a copy of the object target names (a
// root name or a decimal OID).
func (tx *Tx) GetTarget(target string) (*Object, error) {
	oid, err := tx.Resolve(target)
	if err != nil {
		return nil, err
	}
	return tx.Get(oid)
}

// Objects calls fn for each stored object OID in ascending order.
func (tx *Tx) Objects(fn func(OID) error) error {
	return tx.scan([]byte{prefixObject}, func(k, _ []byte) error {
		if len(k) != 9 {
			return &CorruptError{Key: k, Reason: "object key length"}
		}
		return fn(OID(binary.BigEndian.Uint64(k[1:])))
	})
}
