package frame_test

import (
	"bytes"
	"fmt"
	"io"

	"dstream/lib/frame"
)

func Example() {
	var pipe bytes.Buffer
	w := frame.NewWriter(&pipe, frame.CodecS2, 0)
	w.WriteBatch(&frame.Batch{Time: 2000, Interval: 1000, Partitions: []frame.Partition{
		{Records: []frame.Record{{Value: []byte("17,11/25/2026,456-DEF-456,94.65,Grocery Store")}}},
		{Records: []frame.Record{{Key: []byte("456-DEF-456"), Value: []byte("94.65"), Keyed: true}}},
	}})
	w.WriteBarrier(frame.Barrier{ID: 1, Time: 2000})
	w.WriteEOS()

	r := frame.NewReader(&pipe, 0)
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		switch f.Type {
		case frame.TypeBatch:
			fmt.Printf("BATCH [%d-%d) %d records\n", f.Batch.Time-f.Batch.Interval, f.Batch.Time, f.Batch.Len())
			for i, p := range f.Batch.Partitions {
				for _, rec := range p.Records {
					if rec.Keyed {
						fmt.Printf("  partition %d: %s\t%s\n", i, rec.Key, rec.Value)
					} else {
						fmt.Printf("  partition %d: %s\n", i, rec.Value)
					}
				}
			}
		case frame.TypeBarrier:
			fmt.Printf("BARRIER %d after %d\n", f.Barrier.ID, f.Barrier.Time)
		default:
			fmt.Println(f.Type)
		}
	}

	// A corrupt stream is an error that says where.
	_, err := frame.NewReader(bytes.NewReader([]byte("DS\x01\x03\x00\x00\x00\x00\x00\x00\x00\x00")), 0).Next()
	fmt.Println(err)
	// Output:
	// BATCH [1000-2000) 2 records
	//   partition 0: 17,11/25/2026,456-DEF-456,94.65,Grocery Store
	//   partition 1: 456-DEF-456	94.65
	// BARRIER 1 after 2000
	// EOS
	// frame checksum mismatch (corrupt frame) (frame 0 at byte offset 0)
}
