// Package frame reads and writes the binary frames that flow between dstream stages.
//
// A stream is a sequence of self-contained frames, so files of frames can be
// concatenated and replayed. Every frame is a 12-byte header and a payload:
//
//	offset  size  field
//	0       2     magic "DS" (0x44 0x53)
//	2       1     format version, 1
//	3       1     type: 1 BATCH, 2 BARRIER, 3 EOS, 4 STOP
//	4       4     payload length in bytes (uint32, little-endian)
//	8       4     CRC-32C (Castagnoli) of header bytes 0..7 followed by the payload
//	12      n     payload
//
// All fixed-width integers are little-endian; "uvarint" is encoding/binary's
// unsigned varint.
//
// A BATCH payload holds a batch, the records of the interval
// [Time-Interval, Time), or a chunk of one:
//
//	int64    batch time, ms since the Unix epoch (the end of the interval, exclusive)
//	int64    batch interval in ms
//	byte     flags: bit 0 (FlagMore) set when the next frame continues this
//	         batch; the other bits are 0
//	uvarint  number of partitions P
//	P times:
//	  byte     codec: 0 none, 1 s2, 2 zstd
//	  uvarint  number of records
//	  uvarint  decoded size of the partition's record data
//	  uvarint  encoded size (present only when codec is not none)
//	  bytes    record data, encoded with the codec
//
// A batch too big for one frame, or a source's batch still filling, is sent
// as consecutive BATCH frames ("chunks") of the same time and interval, all
// but the last with FlagMore. No other frame comes between them. The batch's
// records, in order, are the chunks' records: chunk by chunk, and within a
// chunk partition by partition. Every chunk has the same number of
// partitions, and partition i of the batch is partition i of each chunk,
// concatenated. Chunks keep a frame, and the memory to read it, small however
// much data a batch interval holds, and let the next stage start on a batch
// before it is complete.
//
// Record data, once decoded, is the records back to back:
//
//	uvarint  key tag: 0 for an unkeyed record, else key length + 1
//	bytes    key
//	uvarint  value length
//	bytes    value
//
// A BARRIER payload is 16 bytes: the checkpoint number (uint64) and the time
// of the last batch it covers (int64). EOS (input exhausted: drain and finish)
// and STOP (graceful shutdown: checkpoint and exit without draining) have empty
// payloads.
//
// A Reader returns io.EOF only at a frame boundary. A torn, corrupt or
// oversized frame is an *Error naming the byte offset where the frame starts;
// the error sticks. The size limit (DefaultMaxSize unless set) bounds the
// payload and the decoded size of a batch, so hostile input cannot make a
// reader allocate without bound.
package frame
