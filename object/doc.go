// Package object is the living image of BAT OS: Self-style prototype
// objects persisted transactionally in one Pebble database.
//
// An [Object] is a set of named slots holding [Value]s. Slots whose names
// end in "*" (parent*, synthesis_state*) are parent slots: they hold one
// [Ref] or a [List] of Refs, and [Tx.Lookup] searches them depth-first, in
// order, after the object's own slots, terminating on cycles and diamonds.
// A failed lookup is a [*NotUnderstoodError], which the VM turns into
// doesNotUnderstand.
//
// Every read and write happens in a transaction: [Store.Update] commits
// when its function returns nil and rolls back on an error or a panic;
// [Store.View] only reads. A transaction is backed by a Pebble indexed batch
// so it reads its own writes. Concurrent transactions are validated
// optimistically at commit: a transaction that read a key which another
// transaction committed since fails with [ErrConflict] and writes nothing
// ([Options.Retries] reruns the function). Commits are synced to the WAL
// before Update returns (concurrent commits share one fsync).
//
// Inside a transaction, [Tx.Savepoint] marks a state and [Tx.RollbackTo]
// discards every write made since (objects, roots, KV keys, OnCommit
// callbacks) while keeping earlier ones, so the VM can trial-run a method
// inside a cognitive cycle's transaction and throw its effects away. A
// rolled-back write leaves the write set and so neither commits nor
// conflicts; reads made after the savepoint stay validated.
//
// Large binary values (model weights, LoRA adapters) are blobs: [Store.PutBlob]
// streams any size into chunked keys and records its size and SHA-256;
// [Store.OpenBlob] returns a reader that verifies the hash and reports
// [ErrCorrupt] on mismatch. A blob becomes visible only when its metadata
// commits; chunks orphaned by a crash are removed when the store opens.
//
// Other packages (the catalog's index, the VM's cycle log) keep their own
// keys in the same database through [Tx.GetKV], [Tx.SetKV] and [Tx.ScanKV],
// so one transaction can commit a whole cognitive cycle.
//
// # Concurrency
//
// A [Store] is safe for concurrent use. A [Tx] is not: it belongs to the
// goroutine running the function passed to Update or View, and must not be
// used after that function returns. A View reads a snapshot: everything it
// sees is one committed state. An Update reads the latest state and is
// validated at commit, also when it wrote nothing, so a committed Update
// saw one consistent state; its function may still run on a state that
// fails validation (and then reruns or returns ErrConflict), so it should
// not act outside the transaction. Range scans ([Tx.ScanKV]) are not
// validated at commit; only point reads (Get, Lookup, GetKV) are.
//
// # Caveats
//
// OIDs are allocated from a persisted counter and never reused; OIDs
// allocated by a transaction that rolls back are skipped. If the WAL sync
// of a commit fails (a disk error), Update returns the error although the
// commit is already visible to other transactions; treat such an error as
// fatal for the store.
//
// Savepoints cover only the transaction's own batch: blobs are written and
// deleted by the Store outside any transaction, so RollbackTo cannot undo
// them (a blob referenced only by rolled-back slots is left for
// [Store.CollectBlobs]), and OIDs allocated after a savepoint stay skipped.
package object
