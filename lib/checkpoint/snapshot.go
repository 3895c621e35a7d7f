package checkpoint

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/zstd"
)

// A snapshot file holds one stage's state for one checkpoint:
//
//	magic    "DSSNAP"
//	version  1 byte: SnapshotVersion
//	id       uvarint: the checkpoint number
//	stage    uvarint length, then the stage's name
//	config   uvarint length, then the stage's configuration (Meta.Config)
//	rawsize  uvarint: the state's size before compression
//	crc      4 bytes, little endian: CRC-32C (Castagnoli) of everything
//	         before it and of the compressed state
//	state    the rest: the stage's state, one zstd frame
//
// The stage writes its state in its own format; the envelope tells a
// snapshot from anything else, refuses one from another version or
// another configuration, and catches a file cut short or damaged on disk.
const (
	snapshotMagic = "DSSNAP"
	// SnapshotVersion is the envelope's version; a stage versions its own
	// state inside.
	SnapshotVersion = 1
	// MaxSnapshot bounds a state's declared size, so a damaged size cannot
	// make a restore allocate without limit.
	MaxSnapshot = 1 << 36
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Meta is what a snapshot records besides the state.
type Meta struct {
	ID    uint64 // the checkpoint number
	Stage string // the stage's name
	// Config is the stage's arguments and state-shaping flags as text: a
	// restart whose configuration differs would read the state wrongly.
	Config string
}

var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxSnapshot))
)

// EncodeSnapshot returns the snapshot file of state.
func EncodeSnapshot(m Meta, state []byte) []byte {
	b := append([]byte(snapshotMagic), SnapshotVersion)
	b = binary.AppendUvarint(b, m.ID)
	b = binary.AppendUvarint(b, uint64(len(m.Stage)))
	b = append(b, m.Stage...)
	b = binary.AppendUvarint(b, uint64(len(m.Config)))
	b = append(b, m.Config...)
	b = binary.AppendUvarint(b, uint64(len(state)))
	head := len(b)
	b = append(b, 0, 0, 0, 0)
	b = encoder.EncodeAll(state, b)
	crc := crc32.Update(crc32.Checksum(b[:head], castagnoli), castagnoli, b[head+4:])
	binary.LittleEndian.PutUint32(b[head:], crc)
	return b
}

// SnapshotError is a snapshot file that cannot be read: not a snapshot,
// another version, cut short or damaged.
type SnapshotError struct {
	Offset int64 // where the problem was found
	Msg    string
}

func (e *SnapshotError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset) }

// DecodeSnapshot reads a snapshot file: its Meta and the state.
func DecodeSnapshot(b []byte) (Meta, []byte, error) {
	var m Meta
	fail := func(off int, format string, args ...any) (Meta, []byte, error) {
		return m, nil, &SnapshotError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) <= len(snapshotMagic) && snapshotMagic[:len(b)] == string(b) {
		return fail(len(b), "snapshot cut short in its header (%d bytes)", len(b))
	}
	if len(b) <= len(snapshotMagic) || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return fail(0, "not a dstream snapshot (no %q at its start)", snapshotMagic)
	}
	if v := b[len(snapshotMagic)]; v != SnapshotVersion {
		return fail(len(snapshotMagic), "snapshot version %d; this dstream reads version %d", v, SnapshotVersion)
	}
	i := len(snapshotMagic) + 1
	uvarint := func(limit uint64) (uint64, bool) {
		n, w := binary.Uvarint(b[i:])
		if w <= 0 || n > limit {
			return 0, false
		}
		i += w
		return n, true
	}
	text := func() (string, bool) {
		n, ok := uvarint(uint64(len(b)))
		if !ok || uint64(len(b)-i) < n {
			return "", false
		}
		s := string(b[i : i+int(n)])
		i += int(n)
		return s, true
	}
	var ok bool
	if m.ID, ok = uvarint(1 << 63); !ok {
		return fail(i, "snapshot cut short or damaged in its header")
	}
	if m.Stage, ok = text(); !ok {
		return fail(i, "snapshot cut short or damaged in its header")
	}
	if m.Config, ok = text(); !ok {
		return fail(i, "snapshot cut short or damaged in its header")
	}
	raw, ok := uvarint(MaxSnapshot)
	if !ok || len(b)-i < 4 {
		return fail(i, "snapshot cut short or damaged in its header")
	}
	head := i
	want := binary.LittleEndian.Uint32(b[head:])
	if crc := crc32.Update(crc32.Checksum(b[:head], castagnoli), castagnoli, b[head+4:]); crc != want {
		return fail(len(b), "snapshot damaged or cut short: its checksum does not match (%d bytes)", len(b))
	}
	// The size is checksummed, but still only a hint for the allocation.
	state, err := decoder.DecodeAll(b[head+4:], make([]byte, 0, min(raw, 1<<30)))
	if err != nil {
		return fail(head+4, "snapshot state: %v", err)
	}
	if uint64(len(state)) != raw {
		return fail(len(b), "snapshot state is %d bytes, its header says %d", len(state), raw)
	}
	return m, state, nil
}
