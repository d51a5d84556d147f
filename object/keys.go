package object

import "encoding/binary"

// Key layout of the database. Each concept has a one-byte prefix.
const (
	prefixObject = 'o' // 'o' + OID (8 bytes, big-endian) -> encoded object
	prefixRoot   = 'r' // 'r' + name -> OID (8 bytes)
	prefixMeta   = 'm' // 'm' + name -> store metadata
	prefixBlob   = 'B' // 'B' + blob id -> blob metadata
	prefixChunk  = 'C' // 'C' + blob id + chunk index -> blob bytes
	prefixKV     = 'x' // 'x' + caller key -> caller value
)

var keyNextOID = []byte("mnext_oid")

func objectKey(oid OID) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixObject}, uint64(oid))
}

func rootKey(name string) []byte { return append([]byte{prefixRoot}, name...) }

func blobKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte{prefixBlob}, id) }

func chunkKey(id, index uint64) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixChunk}, id)
	return binary.BigEndian.AppendUint64(k, index)
}

func kvKey(key []byte) []byte { return append([]byte{prefixKV}, key...) }

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil if there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
