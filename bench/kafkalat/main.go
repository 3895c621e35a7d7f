// Command kafkalat is bench/kafka.sh's latency probe: the time a record
// takes from being written to Kafka to coming out of a pipeline's sink.
//
//	kafkalat write --kafka ADDR --topic T [--rate R] [--count N]
//	kafkalat read [--warmup D] [--count N] <SINK_OUTPUT
//
// write sends N records at a steady R records a second; each record's value
// is the time it was handed to the Kafka client (UnixNano). read takes the
// lines a sink prints (the value is the line, or its last TAB-separated
// field with --with-time or a key), and prints, once stdin ends,
//
//	count=N warmup=W p50=1.234ms p99=5.678ms max=9.012ms
//
// over the records sent at least D after the first one sent (the warm-up
// is counted in count, not in the figures). Both ends read the same clock,
// so they must run on the same machine. It is a benchmark tool, not a
// stage: it does not speak frames.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

const usage = `usage: kafkalat write --kafka ADDR --topic T [--rate R] [--count N]
       kafkalat read [--warmup D] [--count N] <SINK_OUTPUT`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("kafkalat "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	count := fs.Int("count", 0, "write: send `N` records; read: fail unless exactly N came (0: any number)")
	var err error
	switch args[0] {
	case "write":
		addr := fs.String("kafka", "", "the broker `ADDR` (HOST:PORT)")
		topic := fs.String("topic", "", "the `TOPIC` to write to")
		rate := fs.Float64("rate", 5000, "records a second (`R`)")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		if *addr == "" || *topic == "" || *rate <= 0 || *count <= 0 || fs.NArg() > 0 {
			fmt.Fprintln(stderr, "kafkalat write: --kafka, --topic and --count N > 0 are required, --rate must be > 0, no arguments")
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = write(ctx, *addr, *topic, *rate, *count, stderr)
	case "read":
		warmup := fs.Duration("warmup", time.Second, "leave out of the figures the records sent in the first `D`")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		if fs.NArg() > 0 || *count < 0 || *warmup < 0 {
			fmt.Fprintln(stderr, "kafkalat read: no arguments; --count and --warmup must not be negative")
			return 2
		}
		var s stats
		s, err = read(stdin, func() int64 { return time.Now().UnixNano() }, *warmup)
		if err == nil && *count > 0 && s.Count != *count {
			err = fmt.Errorf("%d records came out, %d were expected", s.Count, *count)
		}
		if err == nil {
			fmt.Fprintln(stdout, s)
		}
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "kafkalat %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// write sends count records at rate a second. Each round sends, in one
// call, the records due by now, all stamped now: a steady rate however
// long a call takes, and no record stamped before it could be sent.
func write(ctx context.Context, addr, topic string, rate float64, count int, stderr io.Writer) error {
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.RoundRobin{},
		RequiredAcks: kafka.RequireAll,
		// kafka-go's default of 1 s would be the latency measured.
		BatchTimeout: time.Millisecond,
		BatchSize:    count,
		MaxAttempts:  3,
	}
	defer w.Close()
	msgs := make([]kafka.Message, 0, 1024)
	vals := make([]byte, 0, 1024*20)
	var calls []int64 // each WriteMessages call's duration
	start := time.Now()
	for sent := 0; sent < count; {
		due := min(count, int(time.Since(start).Seconds()*rate)+1)
		if due <= sent {
			next := start.Add(time.Duration(float64(sent) / rate * float64(time.Second)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(next)):
			}
			continue
		}
		now := time.Now().UnixNano()
		msgs, vals = msgs[:0], vals[:0]
		for range due - sent {
			n := len(vals)
			vals = strconv.AppendInt(vals, now, 10)
			msgs = append(msgs, kafka.Message{Value: vals[n:len(vals):len(vals)]})
		}
		t0 := time.Now()
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("writing to %s topic %s after %d records: %v", addr, topic, sent, err)
		}
		// Printed next to read's figures, which include them.
		calls = append(calls, int64(time.Since(t0)))
		sent = due
	}
	d := time.Since(start)
	slices.Sort(calls)
	fmt.Fprintf(stderr, "kafkalat write: %d records in %.3f s (%.0f/s), %d calls: p50 %v, p99 %v, max %v\n",
		count, d.Seconds(), float64(count)/d.Seconds(), len(calls),
		percentile(calls, 50).Round(time.Microsecond), percentile(calls, 99).Round(time.Microsecond),
		time.Duration(calls[len(calls)-1]).Round(time.Microsecond))
	return nil
}

// stats are the latencies of the records after the warm-up.
type stats struct {
	Count, Warmup int // records read; of them, sent during the warm-up
	P50, P99, Max time.Duration
}

func (s stats) String() string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) + "ms" }
	return fmt.Sprintf("count=%d warmup=%d p50=%s p99=%s max=%s", s.Count, s.Warmup, ms(s.P50), ms(s.P99), ms(s.Max))
}

// read reads sink's lines until EOF, taking each line's arrival time from
// now, and computes the latencies of those sent at least warmup after the
// first sent (the first read need not be the first sent: partitions).
func read(r io.Reader, now func() int64, warmup time.Duration) (stats, error) {
	var sent, lat []int64
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		t := now()
		v, err := sendTime(sc.Bytes())
		if err != nil {
			return stats{}, fmt.Errorf("line %d: %v", n, err)
		}
		sent = append(sent, v)
		lat = append(lat, t-v)
	}
	if err := sc.Err(); err != nil {
		return stats{}, err
	}
	s := stats{Count: len(sent)}
	if len(sent) == 0 {
		return s, errors.New("no records came")
	}
	from := slices.Min(sent) + int64(warmup)
	kept := lat[:0]
	for i, v := range sent {
		if v >= from {
			kept = append(kept, lat[i])
		}
	}
	s.Warmup = len(sent) - len(kept)
	if len(kept) == 0 {
		return s, fmt.Errorf("all %d records were sent during the warm-up", len(sent))
	}
	slices.Sort(kept)
	s.P50, s.P99, s.Max = percentile(kept, 50), percentile(kept, 99), time.Duration(kept[len(kept)-1])
	return s, nil
}

// sendTime is the UnixNano in a line's last TAB-separated field.
func sendTime(line []byte) (int64, error) {
	if i := bytes.LastIndexByte(line, '\t'); i >= 0 {
		line = line[i+1:]
	}
	v, err := strconv.ParseInt(string(line), 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a send time (UnixNano)", line)
	}
	return v, nil
}

// percentile is the nearest-rank p-th percentile of sorted (not empty).
func percentile(sorted []int64, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return time.Duration(sorted[max(i, 0)])
}
