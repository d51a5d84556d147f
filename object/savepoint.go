package object

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
)

// Savepoint marks a state of a transaction that [Tx.RollbackTo] can
// return to. It is a small value; the zero Savepoint belongs to no
// transaction.
type Savepoint struct {
	tx *Tx
	id uint64 // unique within tx, increasing
}

// savepoint is a live savepoint's record in its transaction: where the
// transaction's logs stood when it was taken.
type savepoint struct {
	id        uint64
	batchLen  int // tx.b.Len(), or 0 before the first write
	newWrites int // len(tx.newWrites)
	onCommit  int // len(tx.onCommit)
}

// Savepoint marks the transaction's current state; RollbackTo(sp) undoes
// every write made after it. Taking a savepoint costs no I/O and adds
// nothing to later writes but one slice append for each key the
// transaction writes for the first time. In a View it is allowed and
// RollbackTo of it does nothing (a View cannot write).
func (tx *Tx) Savepoint() Savepoint {
	tx.nextSavepoint++
	tx.savepoints = append(tx.savepoints, savepoint{
		id:        tx.nextSavepoint,
		batchLen:  tx.PendingBytes(),
		newWrites: len(tx.newWrites),
		onCommit:  len(tx.onCommit),
	})
	return Savepoint{tx: tx, id: tx.nextSavepoint}
}

// RollbackTo restores every key written since sp to its value at sp (or
// its absence), forgets cached decoded objects written since, and drops
// OnCommit callbacks registered since sp. Savepoints nest; rolling back to
// an earlier one invalidates later ones, while sp itself stays live and can
// be rolled back to again. Rolling back to a savepoint of another tx or an
// invalidated one returns ErrSavepoint.
//
// The transaction's pending batch becomes exactly what it was at sp: keys
// first written after sp leave the write set, so a rolled-back write
// neither commits nor conflicts with other transactions, and PendingBytes
// returns its value at sp. Reads made after sp stay in the read set and are
// still validated at commit (what the caller saw may have shaped what it
// kept). OIDs allocated after sp stay allocated and unused. Doom is not
// undone. Writes outside the transaction (Store.PutBlob, Store.DeleteBlob)
// are not undone: a blob written after sp and referenced only by
// rolled-back slots is unreferenced, and Store.CollectBlobs removes it.
//
// RollbackTo takes time proportional to the bytes the transaction wrote
// before sp (it rebuilds the batch from that prefix) plus those written
// since; it returns at once if nothing was written since sp. It must not
// be called from inside a scan callback (ScanKV, Roots, Objects): it then
// returns an error matching ErrInvalid and changes nothing.
func (tx *Tx) RollbackTo(sp Savepoint) error {
	if tx.done {
		return fmt.Errorf("object: transaction used after it ended")
	}
	i := len(tx.savepoints) - 1
	for i >= 0 && tx.savepoints[i].id > sp.id {
		i--
	}
	if sp.tx != tx || i < 0 || tx.savepoints[i].id != sp.id {
		return ErrSavepoint
	}
	if tx.iterating > 0 {
		return fmt.Errorf("%w: RollbackTo inside a scan", ErrInvalid)
	}
	rec := tx.savepoints[i]
	if tx.b != nil && tx.b.Len() > max(rec.batchLen, batchrepr.HeaderLen) {
		if err := tx.truncateBatch(rec.batchLen); err != nil {
			return err
		}
	}
	for _, k := range tx.newWrites[rec.newWrites:] {
		delete(tx.writes, k)
	}
	clear(tx.newWrites[rec.newWrites:])
	tx.newWrites = tx.newWrites[:rec.newWrites]
	clear(tx.onCommit[rec.onCommit:])
	tx.onCommit = tx.onCommit[:rec.onCommit]
	tx.savepoints = tx.savepoints[:i+1]
	return nil
}

// truncateBatch replaces the transaction's batch with one holding only its
// first n bytes of records (no batch below a header's worth), and forgets
// the decoded objects written by the records it drops.
func (tx *Tx) truncateBatch(n int) error {
	repr := tx.b.Repr()
	if n > len(repr) {
		return fmt.Errorf("object: savepoint beyond the batch (%d > %d bytes)", n, len(repr))
	}
	var nb *pebble.Batch
	if n > batchrepr.HeaderLen {
		nb = tx.s.db.NewIndexedBatchWithSize(n)
		for r := batchrepr.Read(repr[:n]); ; {
			kind, k, v, ok, err := r.Next()
			if err != nil {
				nb.Close()
				return fmt.Errorf("object: savepoint: %w", err)
			}
			if !ok {
				break
			}
			switch kind {
			case pebble.InternalKeyKindSet:
				err = nb.Set(k, v, nil)
			case pebble.InternalKeyKindDelete:
				err = nb.Delete(k, nil)
			default:
				err = fmt.Errorf("object: savepoint: unexpected batch record kind %v", kind)
			}
			if err != nil {
				nb.Close()
				return err
			}
		}
	}
	// Forget decoded objects the dropped records wrote; the store's shared
	// cache only ever holds committed objects, so it needs nothing.
	tail := batchrepr.Reader(repr[max(n, batchrepr.HeaderLen):])
	for {
		_, k, _, ok, err := tail.Next()
		if err != nil {
			clear(tx.cache) // cannot tell which objects it wrote
		}
		if !ok {
			break
		}
		if len(k) == 9 && k[0] == prefixObject {
			delete(tx.cache, OID(binary.BigEndian.Uint64(k[1:])))
		}
	}
	_ = tx.b.Close()
	tx.b = nb
	return nil
}
