package frame

import (
	"fmt"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	b := &Batch{Time: 3000, Interval: 1000, Partitions: []Partition{
		{Records: []Record{rec("a1"), rec("a2"), rec("a3")}},
		{Records: []Record{rec("b1")}},
		{Records: nil},
		{Records: []Record{krec("k", "c1"), rec("c2")}},
	}}
	show := func(chunk int, more bool) string {
		b.More = more
		var got []string
		err := Split(b, chunk, func(c *Batch) error {
			var parts []string
			for _, p := range c.Partitions {
				var vs []string
				for _, r := range p.Records {
					vs = append(vs, string(r.Value))
				}
				parts = append(parts, strings.Join(vs, " "))
			}
			got = append(got, fmt.Sprintf("%d more=%v [%s]", c.Time, c.More, strings.Join(parts, "|")))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, "; ")
	}
	// An unkeyed 2-byte record takes 4 bytes, the keyed one 6.
	tests := []struct {
		chunk int
		more  bool
		want  string
	}{
		{1 << 20, false, "3000 more=false [a1 a2 a3|b1||c1 c2]"},
		{8, false, "3000 more=true [a1 a2|||]; 3000 more=true [a3|b1||]; 3000 more=true [|||c1]; 3000 more=false [|||c2]"},
		{1, true, "3000 more=true [a1|||]; 3000 more=true [a2|||]; 3000 more=true [a3|||]; 3000 more=true [|b1||]; 3000 more=true [|||c1]; 3000 more=true [|||c2]"},
	}
	for _, tt := range tests {
		if got := show(tt.chunk, tt.more); got != tt.want {
			t.Errorf("chunk %d more %v:\ngot  %s\nwant %s", tt.chunk, tt.more, got, tt.want)
		}
	}
}
