package object

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure a Store. The zero value is valid.
type Options struct {
	// FS is the file system; nil means the operating system's.
	FS vfs.FS
	// NoSync commits without waiting for the WAL to reach disk. Acknowledged
	// commits can then be lost in a crash (never partially applied).
	NoSync bool
	// Retries is how many times Update reruns its function after ErrConflict.
	Retries int
	// Logger receives store events; nil means slog.Default().
	Logger *slog.Logger
	// CacheSize is Pebble's block cache size in bytes; 0 means 64 MiB.
	CacheSize int64
	// MinFreeBytes is the free space the store keeps on its file system:
	// a commit or blob write that would leave less fails with ErrDiskFull
	// (reads keep working). 0 means 64 MiB; negative disables the guard.
	MinFreeBytes int64
	// OnCommit, when not nil, is called after each write transaction's
	// commit attempt with the time the commit took (the batch write and
	// its sync) and its error: nil, ErrConflict (Update retries it) or
	// another. For metrics: it must be quick.
	OnCommit func(took time.Duration, err error)
	// FreeSpace reports the bytes available on the file system holding
	// dir; nil means statfs on Linux for the operating system's file
	// system (no guard for other file systems, such as vfs.NewMem).
	FreeSpace func(dir string) (int64, error)
}

func (o *Options) ensureDefaults() {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CacheSize == 0 {
		o.CacheSize = 64 << 20
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = defaultMinFree
	}
	if o.FreeSpace == nil && o.FS == vfs.Default {
		o.FreeSpace = osFreeSpace
	}
}

// Store is the living image: objects, roots, blobs and other packages' keys
// in one Pebble database. It is safe for concurrent use.
type Store struct {
	db    *pebble.DB
	popts *pebble.Options
	dir   string
	opts  Options

	nextOID atomic.Uint64 // next OID or blob id to hand out
	seq     atomic.Uint64 // number of committed write transactions
	count   atomic.Int64  // committed objects, kept by commitTx

	mu        sync.Mutex        // serializes commit validation and apply
	lastWrite map[string]uint64 // key -> seq of the last commit that wrote it
	active    map[*Tx]uint64    // open write transactions -> seq at begin

	objMu   sync.RWMutex
	objects map[OID]cachedObject // decoded committed objects, shared read-only

	// Close waits for running operations: users counts transactions,
	// blob writes and open blob readers. Nested operations (a blob opened
	// inside a transaction) just count twice, and once closed is set every
	// new one fails with ErrClosed instead of blocking.
	closeMu   sync.Mutex
	closeCond *sync.Cond
	users     int
	closed    bool
	failed    error // a write the storage refused, until heal reopens the database
	healing   bool  // heal is reopening: acquire waits
}

// Open opens (creating if needed) the store in dir. Chunks of blobs whose
// metadata never committed are removed.
func Open(dir string, opts Options) (*Store, error) {
	opts.ensureDefaults()
	s := &Store{dir: dir, opts: opts, lastWrite: make(map[string]uint64), active: make(map[*Tx]uint64)}
	s.closeCond = sync.NewCond(&s.closeMu)
	if err := s.openDB(); err != nil {
		return nil, err
	}
	return s, nil
}

// openDB opens the Pebble database and reads what the store keeps in
// memory about it: the OID counter and the object count. Open calls it,
// and heal after a storage failure.
func (s *Store) openDB() error {
	cache := pebble.NewCache(s.opts.CacheSize)
	defer cache.Unref()
	popts := &pebble.Options{
		FS:                 s.opts.FS,
		FormatMajorVersion: pebble.FormatNewest,
		Cache:              cache,
		Logger:             quietLogger{s.opts.Logger},
	}
	popts.EnsureDefaults()
	db, err := pebble.Open(s.dir, popts)
	if err != nil {
		return fmt.Errorf("object: open %s: %w", s.dir, err)
	}
	s.db, s.popts = db, popts
	// Scratch tables of a blob import that a crash interrupted.
	_ = s.opts.FS.RemoveAll(s.opts.FS.PathJoin(s.dir, ingestDir))
	next := uint64(1)
	if v, closer, err := db.Get(keyNextOID); err == nil {
		if len(v) == 8 {
			next = binary.BigEndian.Uint64(v)
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		db.Close()
		return fmt.Errorf("object: read OID counter: %w", err)
	}
	s.nextOID.Store(max(next, s.nextOID.Load()))
	if err := s.removeOrphanChunks(); err != nil {
		db.Close()
		return err
	}
	n, err := s.countObjects()
	if err != nil {
		db.Close()
		return fmt.Errorf("object: count objects: %w", err)
	}
	s.count.Store(n)
	return nil
}

// countObjects counts the object keys once, at Open; commits keep the
// count from then on.
func (s *Store) countObjects() (int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixObject}, UpperBound: []byte{prefixObject + 1}})
	if err != nil {
		return 0, err
	}
	var n int64
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		it.Close()
		return 0, err
	}
	return n, it.Close()
}

// ObjectCount returns the number of committed objects. It is kept as
// transactions commit (no scan), so a status request costs nothing.
func (s *Store) ObjectCount() int64 { return s.count.Load() }

// countDelta is how many objects tx's batch creates minus how many it
// deletes, against the committed state. s.mu must be held (commits are
// serialized, so the committed state cannot change meanwhile).
func (s *Store) countDelta(tx *Tx) (int64, error) {
	var d int64
	for k := range tx.writes {
		if len(k) != 9 || k[0] != prefixObject {
			continue
		}
		before, err := has(s.db, []byte(k))
		if err != nil {
			return 0, err
		}
		after, err := has(tx.b, []byte(k))
		if err != nil {
			return 0, err
		}
		switch {
		case after && !before:
			d++
		case before && !after:
			d--
		}
	}
	return d, nil
}

// has reports whether r holds key.
func has(r pebble.Reader, key []byte) (bool, error) {
	_, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

// Close closes the store. New operations fail with ErrClosed at once; Close
// waits for running transactions, blob writes and open blob readers to
// finish.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return ErrClosed
	}
	s.closed = true
	for s.users > 0 {
		s.closeCond.Wait()
	}
	s.closeMu.Unlock()
	return s.db.Close()
}

// acquire registers a running operation; it fails once Close has begun.
func (s *Store) acquire() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	for s.healing {
		s.closeCond.Wait()
	}
	if s.closed {
		return ErrClosed
	}
	s.users++
	return nil
}

// release ends an operation registered by acquire.
func (s *Store) release() {
	s.closeMu.Lock()
	if s.users--; s.users == 0 {
		s.closeCond.Broadcast()
	}
	s.closeMu.Unlock()
}

// allocID hands out a fresh OID or blob id.
func (s *Store) allocID() uint64 { return s.nextOID.Add(1) - 1 }

// removeOrphanChunks deletes blob chunks that have no committed metadata and
// moves the id counter past every id seen.
func (s *Store) removeOrphanChunks() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixChunk}, UpperBound: []byte{prefixChunk + 1}})
	if err != nil {
		return err
	}
	var orphans []uint64
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) != 17 {
			valid = it.Next()
			continue
		}
		id := binary.BigEndian.Uint64(k[1:9])
		if id >= s.nextOID.Load() {
			s.nextOID.Store(id + 1)
		}
		if _, closer, err := s.db.Get(blobKey(id)); err == nil {
			closer.Close()
		} else if errors.Is(err, pebble.ErrNotFound) {
			orphans = append(orphans, id)
		} else {
			it.Close()
			return err
		}
		valid = it.SeekGE(chunkKey(id+1, 0))
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, id := range orphans {
		if err := s.db.DeleteRange(chunkKey(id, 0), chunkKey(id+1, 0), pebble.Sync); err != nil {
			return fmt.Errorf("object: remove orphan blob %d: %w", id, err)
		}
		s.opts.Logger.Info("object: removed orphan blob chunks", "blob", id)
	}
	return nil
}

// Update runs fn in a read-write transaction. It commits when fn returns nil
// and rolls back when fn returns an error, panics (the panic is returned as
// a *PanicError) or dooms the transaction. On ErrConflict it reruns fn up to
// Options.Retries times.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.update(ctx, fn)
		if !errors.Is(err, ErrConflict) || attempt >= s.opts.Retries {
			return err
		}
		// Jittered backoff so conflicting writers spread out.
		d := time.Duration(rand.Int64N(int64(50*time.Microsecond) << min(attempt, 8)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

func (s *Store) update(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.heal(); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	tx := s.begin(false)
	defer tx.finish()
	if err := run(tx, fn); err != nil {
		return err
	}
	if tx.doomed {
		return ErrDoomed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t0 := time.Now()
	err := tx.commit()
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(time.Since(t0), err)
	}
	if err != nil {
		return err
	}
	for _, f := range tx.onCommit {
		f()
	}
	return nil
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	tx := s.begin(true)
	defer tx.finish()
	return run(tx, fn)
}

func run(tx *Tx, fn func(*Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return fn(tx)
}

// begin starts a transaction. A read-only one reads a snapshot taken under
// the commit lock, so it sees exactly the commits up to snapSeq; a
// read-write one reads the latest state and is validated at commit.
func (s *Store) begin(readOnly bool) *Tx {
	tx := &Tx{s: s, readOnly: readOnly}
	s.mu.Lock()
	if readOnly {
		tx.snap = s.db.NewSnapshot()
		tx.snapSeq = s.seq.Load()
	} else {
		s.active[tx] = s.seq.Load()
	}
	s.mu.Unlock()
	return tx
}

// validate reports ErrConflict if a key tx read was committed since. s.mu
// must be held.
func (s *Store) validateLocked(tx *Tx) error {
	for k, readSeq := range tx.reads {
		if s.lastWrite[k] > readSeq {
			return ErrConflict
		}
	}
	return nil
}

// validateReadOnly validates a read-write transaction that wrote nothing,
// so that what its function saw was one consistent state.
func (s *Store) validateReadOnly(tx *Tx) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.validateLocked(tx)
}

// commitTx validates tx's reads against commits since, applies its batch
// and waits for the WAL sync outside the lock so concurrent commits share
// an fsync.
func (s *Store) commitTx(tx *Tx) error {
	s.mu.Lock()
	if err := s.validateLocked(tx); err != nil {
		s.mu.Unlock()
		return err
	}
	if err := s.checkSpace(int64(len(tx.b.Repr()))); err != nil {
		s.mu.Unlock()
		return err
	}
	delta, err := s.countDelta(tx)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("object: commit: %w", err)
	}
	if tx.allocated {
		if err := tx.b.Set(keyNextOID, binary.BigEndian.AppendUint64(nil, s.nextOID.Load()), nil); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	if s.opts.NoSync {
		err = s.db.Apply(tx.b, pebble.NoSync)
	} else {
		err = s.db.ApplyNoSyncWait(tx.b, pebble.Sync)
	}
	if err != nil {
		s.mu.Unlock()
		return s.storageFailed("commit", err)
	}
	s.count.Add(delta)
	s.objMu.Lock()
	for k := range tx.writes {
		if len(k) == 9 && k[0] == prefixObject {
			delete(s.objects, OID(binary.BigEndian.Uint64([]byte(k[1:]))))
		}
	}
	seq := s.seq.Add(1) // inside objMu: cache() must not see the old seq after this invalidation
	s.objMu.Unlock()
	for k := range tx.writes {
		s.lastWrite[k] = seq
	}
	s.pruneLocked()
	s.mu.Unlock()
	if !s.opts.NoSync {
		if err := tx.b.SyncWait(); err != nil {
			return s.storageFailed("commit sync", err)
		}
	}
	return nil
}

// pruneLocked forgets write records that no open transaction can conflict
// with. s.mu must be held.
func (s *Store) pruneLocked() {
	if len(s.lastWrite) < 4096 {
		return
	}
	low := s.seq.Load()
	for _, start := range s.active {
		low = min(low, start)
	}
	for k, seq := range s.lastWrite {
		if seq <= low {
			delete(s.lastWrite, k)
		}
	}
}

// maxCachedObjects bounds the shared cache of decoded objects.
const maxCachedObjects = 1 << 16

// cachedObject is a decoded object as committed at seq; it stays current
// until a commit that writes it removes it from the cache.
type cachedObject struct {
	o   *Object
	seq uint64
}

// cached returns the shared decoded copy of a committed object that was
// current at every commit sequence from its fill up to now, provided the
// fill is not later than maxSeq (a snapshot's sequence), or nil. The
// caller must not modify it.
func (s *Store) cached(oid OID, maxSeq uint64) *Object {
	s.objMu.RLock()
	c, ok := s.objects[oid]
	s.objMu.RUnlock()
	if !ok || c.seq > maxSeq {
		return nil
	}
	return c.o
}

// cache remembers a decoded object read as of readSeq when no commit
// happened since (so it is the current committed value).
func (s *Store) cache(o *Object, readSeq uint64) {
	s.objMu.Lock()
	defer s.objMu.Unlock()
	if s.seq.Load() != readSeq {
		return
	}
	if s.objects == nil || len(s.objects) >= maxCachedObjects {
		s.objects = make(map[OID]cachedObject)
	}
	s.objects[o.OID] = cachedObject{o: o, seq: readSeq}
}

// quietLogger routes Pebble's informational logs to slog at debug level.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Infof(format string, args ...any) {
	q.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Errorf(format string, args ...any) {
	q.l.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
