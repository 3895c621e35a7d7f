package frame

// DefaultChunk is the record bytes a BATCH frame carries before a batch is
// split into chunks: a 1 MiB frame fills a 1 MiB pipe buffer.
const DefaultChunk = 1 << 20

// Split calls emit with b, or, when b holds more than chunk bytes of
// records, with chunks of it: batches of b's time, interval and partition
// count, all but the last with More set (and the last with b.More). Taken
// chunk by chunk and partition by partition the records keep b's order, and
// partition i of b is partition i of the chunks, concatenated. A chunk and
// its slices are valid only during the call to emit.
func Split(b *Batch, chunk int, emit func(*Batch) error) error {
	size := 0
	for i := range b.Partitions {
		size += recordsSize(b.Partitions[i].Records)
	}
	if size <= chunk {
		return emit(b)
	}
	c := &Batch{Time: b.Time, Interval: b.Interval, More: true, Partitions: make([]Partition, len(b.Partitions))}
	filled := 0
	flush := func() error {
		err := emit(c)
		for i := range c.Partitions {
			c.Partitions[i].Records = nil
		}
		filled = 0
		return err
	}
	for i := range b.Partitions {
		recs := b.Partitions[i].Records
		start := 0
		for j := range recs {
			n := recordsSize(recs[j : j+1])
			if filled > 0 && filled+n > chunk {
				c.Partitions[i].Records = recs[start:j]
				if err := flush(); err != nil {
					return err
				}
				start = j
			}
			filled += n
		}
		c.Partitions[i].Records = recs[start:]
	}
	c.More = b.More
	return emit(c)
}
