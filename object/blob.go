package object

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BlobChunkSize is the size of each stored chunk of a blob.
const BlobChunkSize = 1 << 20

// ingestDir is the scratch directory, inside the store, for blob tables.
const ingestDir = "blob-ingest"

func encodeBlobMeta(b BlobRef) []byte {
	v := binary.AppendVarint(nil, b.Size)
	return append(v, b.SHA256[:]...)
}

func decodeBlobMeta(id uint64, v []byte) (BlobRef, error) {
	size, n := binary.Varint(v)
	if n <= 0 || len(v)-n != 32 || size < 0 {
		return BlobRef{}, &CorruptError{Key: blobKey(id), Reason: "bad blob metadata"}
	}
	b := BlobRef{ID: id, Size: size}
	copy(b.SHA256[:], v[n:])
	return b, nil
}

// PutBlob streams r into the store and returns a reference to the new blob.
// Memory use is bounded by a few chunks whatever the blob's size. The blob
// becomes visible only when its metadata commits at the end; if PutBlob
// fails or the process dies first, its chunks are removed (now, or when the
// store next opens).
func (s *Store) PutBlob(ctx context.Context, r io.Reader) (BlobRef, error) {
	if err := s.heal(); err != nil {
		return BlobRef{}, err
	}
	if err := s.acquire(); err != nil {
		return BlobRef{}, err
	}
	defer s.release()
	id := s.allocID()
	ref, err := s.writeChunks(ctx, id, r)
	if err != nil {
		_ = s.db.DeleteRange(chunkKey(id, 0), chunkKey(id+1, 0), pebble.NoSync)
		return BlobRef{}, err
	}
	// Metadata and the OID counter commit together, synced: the sync also
	// covers every chunk batch written before it.
	b := s.db.NewBatch()
	defer b.Close()
	s.mu.Lock()
	_ = b.Set(blobKey(id), encodeBlobMeta(ref), nil)
	_ = b.Set(keyNextOID, binary.BigEndian.AppendUint64(nil, s.nextOID.Load()), nil)
	wo := pebble.Sync
	if s.opts.NoSync {
		wo = pebble.NoSync
	}
	err = s.db.Apply(b, wo)
	s.mu.Unlock()
	if err != nil {
		return BlobRef{}, fmt.Errorf("object: commit blob: %w", err)
	}
	return ref, nil
}

// blobTableBytes is how much blob data goes into one ingested sstable.
const blobTableBytes = 64 << 20

// writeChunks writes the blob's chunks into sstables in a scratch directory
// and ingests them, so gigabytes skip the WAL and the memtables. Nothing is
// visible to readers until the metadata commits.
func (s *Store) writeChunks(ctx context.Context, id uint64, r io.Reader) (ref BlobRef, err error) {
	fs := s.opts.FS
	tmp := fs.PathJoin(s.dir, ingestDir)
	if err := fs.MkdirAll(tmp, 0o755); err != nil {
		return BlobRef{}, fmt.Errorf("object: blob scratch dir: %w", err)
	}
	var paths []string
	defer func() {
		for _, p := range paths {
			_ = fs.Remove(p) // ingested files were moved; the rest go
		}
	}()
	wopts := s.popts.MakeWriterOptions(6, s.db.TableFormat())
	wopts.Compression = sstable.NoCompression
	var w *sstable.Writer
	closeTable := func() error {
		if w == nil {
			return nil
		}
		err := w.Close()
		w = nil
		return err
	}
	defer func() {
		if w != nil {
			_ = w.Close()
		}
	}()
	h := sha256.New()
	ref = BlobRef{ID: id}
	buf := make([]byte, BlobChunkSize)
	var inTable int
	for index := uint64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return BlobRef{}, err
		}
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			// The chunk is written twice: into its table, then by ingestion.
			if err := s.checkSpace(2 * int64(n)); err != nil {
				return BlobRef{}, err
			}
			if w == nil {
				path := fs.PathJoin(tmp, fmt.Sprintf("blob-%d-%d.sst", id, len(paths)))
				f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
				if err != nil {
					return BlobRef{}, fmt.Errorf("object: blob table: %w", err)
				}
				paths = append(paths, path)
				w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wopts)
				inTable = 0
			}
			h.Write(buf[:n])
			ref.Size += int64(n)
			if err := w.Set(chunkKey(id, index), buf[:n]); err != nil {
				return BlobRef{}, fmt.Errorf("object: write blob: %w", err)
			}
			if inTable += n; inTable >= blobTableBytes {
				if err := closeTable(); err != nil {
					return BlobRef{}, fmt.Errorf("object: write blob: %w", err)
				}
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return BlobRef{}, fmt.Errorf("object: read blob source: %w", rerr)
		}
	}
	if err := closeTable(); err != nil {
		return BlobRef{}, fmt.Errorf("object: write blob: %w", err)
	}
	if len(paths) > 0 {
		if err := s.db.Ingest(ctx, paths); err != nil {
			return BlobRef{}, fmt.Errorf("object: ingest blob: %w", err)
		}
	}
	copy(ref.SHA256[:], h.Sum(nil))
	return ref, nil
}

// Blob returns the metadata of blob id, or an error matching ErrNotFound.
func (s *Store) Blob(ctx context.Context, id uint64) (BlobRef, error) {
	if err := s.acquire(); err != nil {
		return BlobRef{}, err
	}
	defer s.release()
	v, closer, err := s.db.Get(blobKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return BlobRef{}, fmt.Errorf("%w: blob %d", ErrNotFound, id)
	}
	if err != nil {
		return BlobRef{}, err
	}
	defer closer.Close()
	return decodeBlobMeta(id, v)
}

// OpenBlob returns a reader of blob id. The reader verifies the size and
// SHA-256 recorded at PutBlob: a mismatch makes the final Read return an
// error matching ErrCorrupt instead of io.EOF. Close it when done; the
// store cannot close while it is open.
func (s *Store) OpenBlob(ctx context.Context, id uint64) (io.ReadCloser, error) {
	ref, err := s.Blob(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: chunkKey(id, 0), UpperBound: chunkKey(id+1, 0)})
	if err != nil {
		s.release()
		return nil, err
	}
	br := &blobReader{s: s, ref: ref, it: it, h: sha256.New()}
	br.valid = it.First()
	return br, nil
}

type blobReader struct {
	s      *Store
	ref    BlobRef
	it     *pebble.Iterator
	h      hash.Hash
	valid  bool
	cur    []byte // unread part of the current chunk
	next   uint64 // expected index of the next chunk
	read   int64
	err    error
	closed bool
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.cur) == 0 {
		if !r.valid {
			r.err = r.finish()
			return 0, r.err
		}
		k := r.it.Key()
		if len(k) != 17 || binary.BigEndian.Uint64(k[9:]) != r.next {
			r.err = &CorruptError{Key: append([]byte(nil), k...), Reason: fmt.Sprintf("blob %d: missing chunk %d", r.ref.ID, r.next)}
			return 0, r.err
		}
		v, err := r.it.ValueAndErr()
		if err != nil {
			r.err = err
			return 0, err
		}
		r.cur = append(r.cur[:0], v...)
		r.next++
		r.valid = r.it.Next()
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.h.Write(p[:n])
	r.read += int64(n)
	return n, nil
}

func (r *blobReader) finish() error {
	if err := r.it.Error(); err != nil {
		return err
	}
	if r.read != r.ref.Size {
		return &CorruptError{Key: blobKey(r.ref.ID), Reason: fmt.Sprintf("blob %d: size %d, want %d", r.ref.ID, r.read, r.ref.Size)}
	}
	var sum [32]byte
	copy(sum[:], r.h.Sum(nil))
	if sum != r.ref.SHA256 {
		return &CorruptError{Key: blobKey(r.ref.ID), Reason: fmt.Sprintf("blob %d: sha256 mismatch", r.ref.ID)}
	}
	return io.EOF
}

func (r *blobReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.it.Close()
	r.s.release()
	return err
}

// DeleteBlob removes blob id and its chunks.
func (s *Store) DeleteBlob(ctx context.Context, id uint64) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(blobKey(id), nil)
	_ = b.DeleteRange(chunkKey(id, 0), chunkKey(id+1, 0), nil)
	return s.db.Apply(b, pebble.Sync)
}

// Blobs returns the metadata of every committed blob.
func (s *Store) Blobs(ctx context.Context) ([]BlobRef, error) {
	var out []BlobRef
	err := s.View(ctx, func(tx *Tx) error {
		return tx.scan([]byte{prefixBlob}, func(k, v []byte) error {
			if len(k) != 9 {
				return &CorruptError{Key: k, Reason: "blob key length"}
			}
			b, err := decodeBlobMeta(binary.BigEndian.Uint64(k[1:]), v)
			if err != nil {
				return err
			}
			out = append(out, b)
			return nil
		})
	})
	return out, err
}

// UnreferencedBlobs returns the blobs no object slot references (directly
// or inside lists and maps): what CollectBlobs would delete now.
func (s *Store) UnreferencedBlobs(ctx context.Context) ([]BlobRef, error) {
	used := make(map[uint64]bool)
	err := s.View(ctx, func(tx *Tx) error {
		return tx.Objects(func(oid OID) error {
			o, err := tx.load(oid)
			if err != nil {
				return err
			}
			for _, v := range o.Slots {
				markBlobs(v, used)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	blobs, err := s.Blobs(ctx)
	if err != nil {
		return nil, err
	}
	var out []BlobRef
	for _, b := range blobs {
		if !used[b.ID] {
			out = append(out, b)
		}
	}
	return out, nil
}

// CollectBlobs deletes every blob that no object slot references (see
// UnreferencedBlobs) and returns the ones it deleted. Blobs written
// concurrently and not yet referenced may be collected: run it when no
// import is in progress.
func (s *Store) CollectBlobs(ctx context.Context) ([]BlobRef, error) {
	blobs, err := s.UnreferencedBlobs(ctx)
	if err != nil {
		return nil, err
	}
	for n, b := range blobs {
		if err := s.DeleteBlob(ctx, b.ID); err != nil {
			return blobs[:n], err
		}
	}
	return blobs, nil
}

func markBlobs(v Value, used map[uint64]bool) {
	switch x := v.(type) {
	case BlobRef:
		used[x.ID] = true
	case List:
		for _, e := range x {
			markBlobs(e, used)
		}
	case Map:
		for _, e := range x {
			markBlobs(e, used)
		}
	}
}
