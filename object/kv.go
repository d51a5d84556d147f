package object

import "errors"

// GetKV returns a copy of the value stored under the caller key, or
// ErrNotFound. Keys live in their own namespace, apart from objects.
func (tx *Tx) GetKV(key []byte) ([]byte, error) {
	v, err := tx.get(kvKey(key))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return v, err
}

// SetKV stores value under key in the transaction.
func (tx *Tx) SetKV(key, value []byte) error { return tx.set(kvKey(key), value) }

// DeleteKV removes key. Deleting a missing key is not an error.
func (tx *Tx) DeleteKV(key []byte) error { return tx.del(kvKey(key)) }

// ScanKV calls fn for every key with prefix in ascending order, seeing the
// transaction's own writes. key and value are valid only during fn; an
// error from fn stops the scan and is returned.
func (tx *Tx) ScanKV(prefix []byte, fn func(key, value []byte) error) error {
	return tx.scan(kvKey(prefix), func(k, v []byte) error { return fn(k[1:], v) })
}

// ScanKVReverse is ScanKV in descending key order (newest first for keys
// that grow over time, such as logs); fn can stop it early by returning
// an error, which is returned.
func (tx *Tx) ScanKVReverse(prefix []byte, fn func(key, value []byte) error) error {
	return tx.scanReverse(kvKey(prefix), func(k, v []byte) error { return fn(k[1:], v) })
}

// DeleteKVPrefix removes every key with prefix.
func (tx *Tx) DeleteKVPrefix(prefix []byte) error {
	if err := tx.checkWrite(); err != nil {
		return err
	}
	var keys [][]byte
	if err := tx.ScanKV(prefix, func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.DeleteKV(k); err != nil {
			return err
		}
	}
	return nil
}
