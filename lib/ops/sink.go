package ops

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"dstream/lib/checkpoint"
	"dstream/lib/enum"
	"dstream/lib/frame"
	"dstream/lib/stage"
	"dstream/lib/text"

	"github.com/urfave/cli/v2"
)

// Sink writes batches out: to stdout as text, or one file per batch.
var Sink = &stage.Spec{
	Name:  "sink",
	Usage: "write records to stdout as text, or one file per batch (Spark's saveAsTextFiles, saveAsObjectFiles)",
	Description: `By default sink writes every record to stdout, one line each, in --format:
  tsv    VALUE, or KEY<TAB>VALUE for a keyed record (the default)
  jsonl  {"time":T,"key":KEY,"value":VALUE}; an unkeyed record has "key":null, and a
         key or value that is valid JSON (number, array, object, true, false, null)
         is embedded as is, anything else is a JSON string
  csv    VALUE, or KEY,VALUE, quoted as RFC 4180 requires
--with-time puts the batch time (ms since the epoch) first: "T<TAB>" in tsv, a first
column in csv.

--text-files PREFIX writes each batch to its own file PREFIX-TIME[.SUFFIX] (Spark's
rddToFileName) in --format; --object-files PREFIX writes each batch as a frame file
(one frame, or one per chunk of a big batch) that 'produce --frames' replays. Files
are written to a temporary name, fsynced and renamed once the batch is complete, so
a replayed batch rewrites the same file whole: exactly-once under replay. Stdout is at-least-once. --skip-empty writes no file for an empty batch.

--kafka SERVERS --topic T writes every record to the Kafka topic T instead (see
below), which must exist: dstream never creates topics.

Examples:
   produce --queue a.txt b.txt | sink --with-time
   produce --queue a.txt b.txt | sink --text-files out/batch --suffix tsv
   produce --generate transactions | sink --kafka localhost:9092 --topic transactions

` + kafkaSinkDescription,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "format", Value: "tsv", Usage: "record format: tsv, jsonl or csv"},
		&cli.BoolFlag{Name: "with-time", Usage: "put each record's batch time (ms) first"},
		&cli.StringFlag{Name: "text-files", Usage: "write each batch to the text file `PREFIX`-TIME[.SUFFIX]"},
		&cli.StringFlag{Name: "object-files", Usage: "write each batch to the frame file `PREFIX`-TIME[.SUFFIX]"},
		&cli.StringFlag{Name: "suffix", Usage: "file name `SUFFIX` for --text-files and --object-files"},
		&cli.BoolFlag{Name: "skip-empty", Usage: "write no file for an empty batch"},
		&cli.StringFlag{Name: "compress", Value: "none", Usage: "compression of --object-files partitions: none, s2 or zstd"},
	}, kafkaSinkFlags...),
	Kind: stage.KindSink,
	New:  newSink,
}

// Format is a text record format.
type Format int

// Formats.
const (
	FormatTSV Format = iota
	FormatJSONL
	FormatCSV
)

var formatNames = []string{"tsv", "jsonl", "csv"}

// ParseFormat parses a format name.
func ParseFormat(s string) (Format, error) {
	return enum.Parse[Format]("format", formatNames, s)
}

type sink struct {
	format    Format
	withTime  bool
	stdout    io.Writer
	prefix    string // per-batch files, when set
	suffix    string
	objects   bool // per-batch files hold frames, not text
	skipEmpty bool
	compress  frame.Codec
	maxSize   int
	buf       []byte
	csvRow    []string

	// The file of the batch being written: a batch may come in chunks,
	// which go to a temporary file renamed when the last one is in.
	file    *checkpoint.AtomicFile
	frames  *frame.Writer
	records int
}

func newSink(c *stage.Context) (any, error) {
	if c.IsSet("kafka") {
		return newKafkaSink(c)
	}
	if err := kafkaOnly(c, kafkaSinkFlagNames); err != nil {
		return nil, err
	}
	format, err := ParseFormat(c.String("format"))
	if err != nil {
		return nil, stage.Usagef("--format: %v", err)
	}
	s := &sink{
		format: format, withTime: c.Bool("with-time"), stdout: c.Stdout,
		suffix: c.String("suffix"), skipEmpty: c.Bool("skip-empty"),
		maxSize: c.MaxFrameSize,
	}
	text, objects := c.String("text-files"), c.String("object-files")
	switch {
	case text != "" && objects != "":
		return nil, stage.Usagef("--text-files and --object-files both given; a sink writes one kind of file")
	case text != "":
		s.prefix = text
	case objects != "":
		s.prefix, s.objects = objects, true
		if c.IsSet("format") || c.Bool("with-time") {
			return nil, stage.Usagef("--format and --with-time are for text; --object-files writes frames")
		}
	default:
		if c.IsSet("suffix") || s.skipEmpty {
			return nil, stage.Usagef("--suffix and --skip-empty name per-batch files: give --text-files or --object-files")
		}
	}
	if s.compress, err = frame.ParseCodec(c.String("compress")); err != nil {
		return nil, stage.Usagef("--compress: %v", err)
	}
	if c.IsSet("compress") && !s.objects {
		return nil, stage.Usagef("--compress applies to --object-files only")
	}
	if s.prefix != "" {
		if strings.HasSuffix(s.prefix, "/") {
			return nil, stage.Usagef("file prefix %q ends in /: name the files, as in %sbatch", s.prefix, s.prefix)
		}
		if err := os.MkdirAll(filepath.Dir(s.prefix), 0o777); err != nil {
			return nil, err
		}
		// A sink killed inside a batch leaves that file's temporary copy;
		// the batch is written again whole after a restart.
		base := filepath.Base(s.prefix) + "-"
		ours := func(name string) bool {
			t, ok := strings.CutPrefix(name, base)
			return ok && t != "" && (t[0] == '-' || t[0] >= '0' && t[0] <= '9')
		}
		if err := checkpoint.RemoveTemps(filepath.Dir(s.prefix), ours); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *sink) Process(_ context.Context, b *frame.Batch, _ stage.Emitter) error {
	if s.prefix == "" {
		s.buf = s.appendText(s.buf[:0], b)
		_, err := s.stdout.Write(s.buf)
		return err
	}
	if err := s.writeFile(b); err != nil {
		s.Close()
		return fmt.Errorf("writing batch %d: %w", b.Time, err)
	}
	return nil
}

// writeFile adds a batch, or a chunk of one, to the batch's file, and puts
// the file in place after the last chunk.
func (s *sink) writeFile(b *frame.Batch) error {
	if s.file == nil {
		// Spark's rddToFileName: PREFIX-TIME[.SUFFIX].
		name := s.prefix + "-" + strconv.FormatInt(b.Time, 10)
		if s.suffix != "" {
			name += "." + s.suffix
		}
		f, err := checkpoint.CreateAtomic(name, 0o644)
		if err != nil {
			return err
		}
		s.file, s.records = f, 0
		if s.objects {
			s.frames = frame.NewWriter(f, s.compress, s.maxSize)
		}
	}
	s.records += b.Len()
	if s.objects {
		if err := s.frames.WriteBatch(b); err != nil {
			return err
		}
	} else {
		s.buf = s.appendText(s.buf[:0], b)
		if _, err := s.file.Write(s.buf); err != nil {
			return err
		}
	}
	if b.More {
		return nil
	}
	f := s.file
	s.file = nil
	if s.skipEmpty && s.records == 0 {
		f.Abort()
		return nil
	}
	return f.Commit()
}

// Close discards the file of a batch whose last chunk never came.
func (s *sink) Close() error {
	if s.file != nil {
		s.file.Abort()
		s.file = nil
	}
	return nil
}

func (s *sink) appendText(buf []byte, b *frame.Batch) []byte {
	for _, part := range b.Partitions {
		for i := range part.Records {
			r := &part.Records[i]
			switch s.format {
			case FormatTSV:
				buf = text.AppendTSV(buf, r, s.withTime, b.Time)
			case FormatJSONL:
				buf = text.AppendJSONLine(buf, r, b.Time)
			case FormatCSV:
				buf = s.appendCSV(buf, r, b.Time)
			}
		}
	}
	return buf
}

func (s *sink) appendCSV(buf []byte, r *frame.Record, t int64) []byte {
	row := s.csvRow[:0]
	if s.withTime {
		row = append(row, strconv.FormatInt(t, 10))
	}
	if r.Keyed {
		row = append(row, string(r.Key))
	}
	row = append(row, string(r.Value))
	s.csvRow = row
	if len(row) == 1 && row[0] == "" {
		// encoding/csv writes an empty line, which CSV readers skip.
		return append(buf, "\"\"\n"...)
	}
	out := bytes.NewBuffer(buf)
	w := csv.NewWriter(out)
	w.Write(row)
	w.Flush()
	return out.Bytes()
}
