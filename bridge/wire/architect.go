package wire

//go:generate go run github.com/tinylib/msgp@v1.6.5 -file architect.go -o architect_gen.go -io=false -tests=false

// Same bounds as messages.go; see there for why the directive matters.
//msgp:limit arrays:65536 maps:65536 marshal:true

// Results of the architect's and the operator's commands (define_method,
// method_history, revert_method, clone, remove_slot, export, import,
// backup, collect_blobs), typed like the others in results.go.

// MethodVersionInfo is one installed version of a method.
type MethodVersionInfo struct {
	// Version is the method's version number, from 1.
	Version int64 `msg:"version"`
	// Source is the Starlark source.
	Source string `msg:"source"`
	// Author is the persona that wrote it, or "architect".
	Author string `msg:"author,omitempty"`
	// Cycle is the cycle that wrote it, if a cycle did.
	Cycle uint64 `msg:"cycle,omitempty"`
	// Verdict is the guardian's verdict when it was installed.
	Verdict string `msg:"verdict,omitempty"`
	// Installed is when it was installed (RFC 3339).
	Installed string `msg:"installed,omitempty"`
	// Note says how it came to be installed.
	Note string `msg:"note,omitempty"`
	// Current is whether the slot holds this version now.
	Current bool `msg:"current"`
}

// MethodHistory is the result of method_history: oldest version first.
type MethodHistory struct {
	Target   uint64              `msg:"target"`
	Selector string              `msg:"selector"`
	Versions []MethodVersionInfo `msg:"versions"`
}

// MethodInstalled is the result of define_method and revert_method.
type MethodInstalled struct {
	Target   uint64 `msg:"target"`
	Selector string `msg:"selector"`
	Version  int64  `msg:"version"`
}

// Cloned is the result of clone.
type Cloned struct {
	OID  uint64 `msg:"oid"`
	Root string `msg:"root,omitempty"`
}

// Exported is the result of export: the objects as JSON lines.
type Exported struct {
	Objects int64  `msg:"objects"`
	Lines   string `msg:"lines"`
}

// Imported is the result of import.
type Imported struct {
	Objects int64 `msg:"objects"`
	Methods int64 `msg:"methods"`
}

// BackedUp is the result of backup.
type BackedUp struct {
	// Path is the directory the copy was written to, on the daemon's host.
	Path string `msg:"path"`
	// Bytes is the size of the image when the copy was taken.
	Bytes int64 `msg:"bytes"`
}

// BlobInfo describes one blob of the image.
type BlobInfo struct {
	ID     uint64 `msg:"id"`
	Size   int64  `msg:"size"`
	SHA256 string `msg:"sha256"`
}

// Collected is the result of collect_blobs: the blobs no object refers
// to, deleted unless the request was a dry run.
type Collected struct {
	Blobs   []BlobInfo `msg:"blobs"`
	Deleted bool       `msg:"deleted"`
}
