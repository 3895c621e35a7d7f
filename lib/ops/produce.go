package ops

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"dstream/lib/kafka"
	"dstream/lib/source"
	"dstream/lib/stage"

	"github.com/urfave/cli/v2"
)

// Produce is the source stage: lines from files or stdin, a queue of files,
// frame files, a socket, a watched directory or the seed's transaction
// producer, cut into batches.
var Produce = &stage.Spec{
	Name:      "produce",
	Usage:     "read lines, files, a queue, a socket or a generator and emit batches",
	ArgsUsage: "[FILE...]",
	MaxArgs:   -1,
	Kind:      stage.KindSource,
	Description: `produce is the stream's source. A record's value is the line as read, without its
"\n" (and a "\r" before it); produce never rewrites it. Input is the FILEs in
order, or stdin when there are none or FILE is "-". At the end of input produce
emits the last batch and EOS; on SIGINT/SIGTERM it stops and emits STOP.

Modes (one at a time):
  lines (default)    processing time: batch T, a multiple of --batch since the epoch,
                     holds the lines read in [T-D, T); a batch is emitted every D even
                     when no data came; at the end of input the current batch is
                     emitted at its time T at once. Files are read as fast as they
                     can be.
  --event-time FIELD each line goes to the batch of its own time ts: T = floor(ts/D)*D + D.
                     Batch T is emitted once the largest time seen is >= T + --lateness;
                     every batch time from the first on is emitted, empty ones too; at
                     the end all batches up to the last record's. A record whose batch
                     was emitted is late: it is appended to --late FILE (and counted),
                     or, without --late, an error. --time-layout: ms (epoch ms, the
                     default), s (epoch seconds) or a Go layout such as
                     2006-01-02T15:04:05Z07:00 (UTC unless it has a zone).
  --queue FILE...    Spark's queueStream: each FILE is one batch, at --start+D,
                     --start+2D, ...; --all-at-once puts all in the first batch; --default
                     FILE fills batches after the queue is empty; --batches N pads with
                     default (or empty) batches up to N in all.
  --frames [FILE...] replays the BATCH frames of 'sink --object-files' files (or a
                     captured stream; stdin when no FILE), in the order of their first
                     batch time. BARRIER, EOS and STOP frames in them are not
                     forwarded. Batch times must strictly increase and intervals match.
                     Partitions are kept unless --partitions is given.
  --socket HOST:PORT Spark's socketTextStream: connect, read lines, processing time;
                     the peer closing the connection is the end of input.
  --watch DIR        Spark's textFileStream: files that appear in DIR (polled every
                     min(D, 1s)) are read whole, in name order, into the current batch.
                     Names starting with "." or "_" are skipped: write a file under such
                     a name, or elsewhere, and rename it in, since a file is read once.
                     Runs until a signal.
  --generate transactions
                     the seed's KafkaTransactionProducer: lines
                     "step,MM/dd/yyyy,account,amount,description", each also printed as
                     "Sent -> LINE" on stderr. Non-random: steps 0..100 cycling the
                     seed's lists, waiting (step+1)*50 ms before each. --randomize: random
                     picks and waits up to 5 s, until a signal or --count N (--seed
                     repeats a run). --no-delay waits not at all: a virtual clock starts
                     at --start (default now) and each line is batched by its virtual
                     send time, as --event-time with no lateness: same output every run.
                     Dates are UTC.
  --kafka SERVERS --topic T[,T...] [--group G]
                     read every partition of the topics, or as a member of
                     consumer group G those the group gives; see "Kafka" below.

Fields (--event-time, --key-field): --format csv|tsv takes a column number from 1,
or a column name with --header (the first line of every input is then a header,
not a record); --format json takes a top-level field name. --keyed splits each
line at its first TAB into KEY and VALUE; --key-field keeps the line as the value
and takes the key from the field. --partitions P splits every batch into P
contiguous, near-equal slices in input order (Spark's parallelize).

A batch with more than --chunk-size bytes of records goes out in chunks: frames
of the same batch time, all but the last marked "more" (see lib/frame). In
processing time a chunk goes out as soon as it is full, so memory stays bounded
and the next stage starts on a batch while it still fills. Each chunk is cut
into the --partitions slices; partition i of the batch is partition i of every
chunk, in order. --realtime
paces --event-time, --queue and --frames by the wall clock: batch T goes out at
start + (T - first T); without it they run as fast as they can.

With a checkpoint directory produce rewinds after a restart by reading its input
again. stdin, a named pipe, --socket and --watch cannot be read again: with --wal
what they give is appended to a log in DIR/ID/wal before it is batched, and a
restart reads the log first, then goes on with the input it is given now.

Kafka (--kafka): a record's key and value are the Kafka record's (a record with a
null key is unkeyed; an empty key is a key), never rewritten, unless --with-meta
makes the value {"topic":T,"partition":P,"offset":O,"timestamp":MS,"value":VALUE}
(VALUE embedded as sink --format jsonl does). Batch T holds what was fetched in
[T-D, T); within a batch (each chunk of a big one) records are grouped by topic in
--topic order, then by partition number, each partition in offset order. --from
says where every partition starts: earliest (the default), latest, an OFFSET, or a
TIME (RFC 3339: the first record at or after it). --until-caught-up notes the end
offsets at start, reads up to them and ends (EOS, exit 0): a cron job's catch-up.
Transaction control records are dropped; records of aborted transactions are not
(kafka-go cannot filter them). Topics must exist: dstream never creates them. The
cluster is tried 5 times at start, then produce fails (exit 1). Security: --tls,
--tls-ca, --sasl with --sasl-user and the password in $DSTREAM_KAFKA_PASSWORD or
--sasl-password-file. With a checkpoint directory produce logs, per batch, the
offset each partition was read to (DIR/ID/kafka.log, cut back as checkpoints are
committed) and records them in each checkpoint; a restart seeks every partition to
the committed checkpoint's offsets, makes the logged batches after it again (same
times, same records), then reads on: --from is only where the first run starts,
the checkpoint wins. An offset Kafka no longer keeps (retention) fails produce
(exit 1), or with --on-data-loss earliest is a warning and reading goes on at the
earliest offset kept.

--event-time timestamp (with --kafka the only choice): batch T holds the records
whose Kafka timestamp (ms) is in [T-D, T), by topic, partition and offset. Each
partition's watermark is the largest timestamp read from it; the stream's is the
smallest of those of the partitions not caught up (a partition read up to its end
offset does not hold the others back), and when every partition has caught up, the
largest timestamp read, so an idle topic does not stall the stream. Batch T goes
out once the watermark is >= T + --lateness, every batch time from the first on,
empty ones too; --until-caught-up sends every pending batch at the end. A record
whose batch went out is late: a JSON line {"topic","partition","offset",
"timestamp","key","value"} appended to --late FILE, or without it an error naming
topic, partition and offset. A checkpoint holds, per partition, the lowest offset
still waiting for a batch (a restart reads from there) and where reading stood
(records below it whose batch went out are not sent again). With --group the
group gets the first as the offset and the second in its metadata, so the next
owner of a partition skips what went out; what it reads that falls in a batch it
already sent is late for it (a lateness that covers the members' skew avoids it).

--group G (needs a checkpoint directory): copies of a pipeline in one consumer group
share the partitions; Kafka moves a copy's partitions to the others when it dies
(--session-timeout). Offsets are committed to the group only once the sink has
committed a checkpoint (end-to-end acknowledgement); a copy whose partitions are
taken away sends the batch in hand, waits for its checkpoint to be committed and
commits it before the group moves on. A partition with no committed offset starts
at --from.

Examples:
   produce --batch 1s access.log
   tail -f app.log | produce --batch 500ms --keyed
   produce --batch 1s --format csv --header --event-time ts --lateness 2s --late late.csv events.csv
   produce --batch 1s --format json --event-time at --time-layout 2006-01-02T15:04:05Z07:00 events.jsonl
   produce --batch 1s --queue a.txt b.txt --default idle.txt --batches 5
   produce --frames out/batch-*
   produce --batch 1s --socket localhost:9999
   produce --batch 2s --watch incoming/
   tail -f app.log | produce --batch 1s --wal --checkpoint ck | sink --text-files out/app
   produce --generate transactions --no-delay --start 0 | sink --with-time
   produce --batch 1s --kafka localhost:9092 --topic transactions --from earliest --until-caught-up
   produce --batch 1s --kafka localhost:9092 --topic transactions --group analysis --checkpoint ck
   produce --batch 1s --kafka localhost:9092 --topic clicks --event-time timestamp --lateness 5s --late late.jsonl`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "batch", Value: "1s", Usage: "batch interval `D`, a Go duration of whole ms"},
		&cli.IntFlag{Name: "partitions", Value: 1, Usage: "split every batch into `P` contiguous partitions"},
		&cli.StringFlag{Name: "chunk-size", Value: "1MiB", Usage: "send a batch bigger than `SIZE` bytes of records in chunks of that size"},
		&cli.StringFlag{Name: "format", Value: "lines", Usage: "`FORMAT` that locates fields: lines, csv, tsv or json"},
		&cli.BoolFlag{Name: "keyed", Usage: "split each line at its first TAB into KEY and VALUE"},
		&cli.StringFlag{Name: "key-field", Usage: "take the record's key from `FIELD`"},
		&cli.BoolFlag{Name: "header", Usage: "the first csv/tsv line of every input names the columns"},
		&cli.StringFlag{Name: "event-time", Usage: "batch by the time in `FIELD` (event time; --kafka: timestamp, the record's Kafka timestamp)"},
		&cli.StringFlag{Name: "time-layout", Value: "ms", Usage: "event time `LAYOUT`: ms, s or a Go time layout"},
		&cli.StringFlag{Name: "lateness", Value: "0s", Usage: "how long `D` after its end a batch waits for late records"},
		&cli.StringFlag{Name: "late", Usage: "append late records to `FILE` instead of failing"},
		&cli.BoolFlag{Name: "realtime", Usage: "pace --event-time, --queue and --frames by the wall clock"},
		&cli.BoolFlag{Name: "queue", Usage: "each FILE is one batch (Spark's queueStream)"},
		&cli.BoolFlag{Name: "all-at-once", Usage: "--queue: all files in the first batch (oneAtATime=false)"},
		&cli.StringFlag{Name: "default", Usage: "--queue: fill batches after the queue with `FILE`"},
		&cli.IntFlag{Name: "batches", Usage: "--queue: emit `N` batches in all, padding with --default or empty batches"},
		&cli.Int64Flag{Name: "start", Usage: "time in `MS` before the first batch (--queue: default 0; --generate --no-delay: default now)"},
		&cli.BoolFlag{Name: "frames", Usage: "replay the frame files FILE... (from 'sink --object-files')"},
		&cli.StringFlag{Name: "socket", Usage: "read lines from `HOST:PORT` (Spark's socketTextStream)"},
		&cli.StringFlag{Name: "watch", Usage: "read files that appear in `DIR` (Spark's textFileStream)"},
		&cli.StringFlag{Name: "generate", Usage: "run a built-in producer: `transactions` (the seed's)"},
		&cli.BoolFlag{Name: "randomize", Usage: "--generate: random transactions, until a signal or --count"},
		&cli.Uint64Flag{Name: "seed", Usage: "--generate --randomize: random seed `N` (default: random, logged)"},
		&cli.BoolFlag{Name: "no-delay", Usage: "--generate: no sleeping; a virtual clock from --start stamps the lines"},
		&cli.Int64Flag{Name: "count", Usage: "--generate: stop after `N` lines"},
		&cli.IntFlag{Name: "checkpoint-every", Value: 10, Usage: "with --checkpoint: a checkpoint (BARRIER) every `N` batches"},
		&cli.BoolFlag{Name: "wal", Usage: "with --checkpoint: log what stdin, a named pipe, --socket or --watch gives in the checkpoint directory, so a restart can read it again"},
		&cli.StringFlag{Name: "from", Value: "earliest", Usage: "--kafka: start every partition at `WHERE`: earliest, latest, an OFFSET or an RFC 3339 TIME (with a checkpoint, only the first run: a restart resumes at the checkpoint)"},
		&cli.BoolFlag{Name: "until-caught-up", Usage: "--kafka: read up to the end offsets at start, then end"},
		&cli.BoolFlag{Name: "with-meta", Usage: "--kafka: make each value a JSON object of topic, partition, offset, timestamp and value"},
		&cli.StringFlag{Name: "group", Usage: "--kafka: read as a member of consumer group `G`, committing offsets when the pipeline commits a checkpoint (needs --checkpoint)"},
		&cli.DurationFlag{Name: "session-timeout", Value: kafka.DefaultSessionTimeout, Usage: "--group: a member silent this long (`D`) loses its partitions to the others"},
		&cli.StringFlag{Name: "on-data-loss", Value: "fail", Usage: "--kafka: at an offset Kafka no longer has (retention): `WHAT`, fail or earliest (warn and go on at the earliest kept)"},
	}, kafka.Flags()...),
	New: newProduce,
}

// produceMode is produce's input mode.
type produceMode string

const (
	modeLines    produceMode = "lines"
	modeEvent    produceMode = "--event-time"
	modeQueue    produceMode = "--queue"
	modeFrames   produceMode = "--frames"
	modeSocket   produceMode = "--socket"
	modeWatch    produceMode = "--watch"
	modeGenerate produceMode = "--generate"
	modeKafka    produceMode = "--kafka"
)

var lineModes = []produceMode{modeLines, modeEvent, modeQueue, modeSocket, modeWatch}

// produceFlagModes says in which modes a flag means something; using it in
// another is a usage error rather than silently ignored.
var produceFlagModes = map[string][]produceMode{
	"format":      lineModes,
	"keyed":       lineModes,
	"key-field":   lineModes,
	"header":      lineModes,
	"time-layout": {modeEvent},
	"lateness":    {modeEvent}, // and --kafka --event-time timestamp (kafkaEventFlag)
	"late":        {modeEvent},
	"wal":         {modeLines, modeEvent, modeSocket, modeWatch},
	"realtime":    {modeEvent, modeQueue, modeFrames},
	"all-at-once": {modeQueue},
	"default":     {modeQueue},
	"batches":     {modeQueue},
	"start":       {modeQueue, modeGenerate},
	"randomize":   {modeGenerate},
	"seed":        {modeGenerate},
	"no-delay":    {modeGenerate},
	"count":       {modeGenerate},
	// The --kafka flags are added by init.
}

func init() {
	for _, name := range append([]string{"from", "until-caught-up", "with-meta", "group", "session-timeout", "on-data-loss"}, kafka.FlagNames...) {
		produceFlagModes[name] = []produceMode{modeKafka}
	}
}

func produceModeOf(c *stage.Context) (produceMode, error) {
	var set []produceMode
	for _, m := range []produceMode{modeEvent, modeQueue, modeFrames, modeSocket, modeWatch, modeGenerate, modeKafka} {
		if m == modeEvent && c.IsSet("kafka") {
			continue // --kafka --event-time timestamp: Kafka's record timestamps
		}
		if c.IsSet(strings.TrimPrefix(string(m), "--")) {
			set = append(set, m)
		}
	}
	switch len(set) {
	case 0:
		return modeLines, nil
	case 1:
		return set[0], nil
	}
	return "", stage.Usagef("%s and %s both given: produce reads one input (lines, --event-time, --queue, --frames, --socket, --watch, --generate or --kafka)", set[0], set[1])
}

// kafkaEventFlag tells whether name is an event-time flag that --kafka
// takes with --event-time timestamp.
func kafkaEventFlag(c *stage.Context, name string) bool {
	return (name == "lateness" || name == "late") && c.IsSet("event-time")
}

// parseMs parses a duration flag that must be a whole number of ms.
func parseMs(c *stage.Context, name string, zeroOK bool) (int64, error) {
	s := c.String(name)
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Millisecond != 0 || d < 0 || (d == 0 && !zeroOK) {
		want := "a positive"
		if zeroOK {
			want = "a zero or positive"
		}
		return 0, stage.Usagef("--%s %s: want %s Go duration of whole milliseconds, like 500ms or 2s", name, s, want)
	}
	return d.Milliseconds(), nil
}

func newProduce(c *stage.Context) (any, error) {
	args := c.Args().Slice()
	mode, err := produceModeOf(c)
	if err != nil {
		return nil, err
	}
	for _, name := range c.FlagNames() {
		if mode == modeKafka && kafkaEventFlag(c, name) {
			continue
		}
		if mode == modeKafka && name == "time-layout" && c.IsSet(name) && c.IsSet("event-time") {
			return nil, stage.Usagef("--time-layout does not apply to --kafka --event-time timestamp: Kafka timestamps are epoch milliseconds")
		}
		if modes, ok := produceFlagModes[name]; ok && c.IsSet(name) && !slices.Contains(modes, mode) {
			return nil, stage.Usagef("--%s does not apply to %s mode (it is for %s)", name, mode, joinModes(modes))
		}
	}
	interval, err := parseMs(c, "batch", false)
	if err != nil {
		return nil, err
	}
	parts := c.Int("partitions")
	if parts < 1 {
		return nil, stage.Usagef("--partitions %d: want 1 or more", parts)
	}
	chunk, err := stage.ParseSize(c.String("chunk-size"))
	if err != nil {
		return nil, stage.Usagef("--chunk-size: %v", err)
	}
	common := source.Common{Interval: interval, Partitions: parts, MaxFrame: c.MaxFrameSize, Chunk: chunk, Clock: c.Clock, Log: c.Log}
	if len(args) > 0 && (mode == modeSocket || mode == modeWatch || mode == modeGenerate || mode == modeKafka) {
		return nil, stage.Usagef("%s reads no FILE arguments, got %q", mode, args[0])
	}
	if c.Checkpoint == nil {
		if c.IsSet("checkpoint-every") {
			return nil, stage.Usagef("--checkpoint-every needs a checkpoint directory (--checkpoint DIR or %s)", stage.EnvCheckpoint)
		}
		if c.Bool("wal") {
			return nil, stage.Usagef("--wal needs a checkpoint directory to keep its log in (--checkpoint DIR or %s)", stage.EnvCheckpoint)
		}
		if c.IsSet("group") {
			return nil, stage.Usagef("--group needs a checkpoint directory (--checkpoint DIR or %s): offsets are committed to the group when the pipeline commits a checkpoint", stage.EnvCheckpoint)
		}
		return newProduceSource(c, mode, common, args, nil)
	}
	if err := rewindable(c, mode, args); err != nil {
		return nil, err
	}
	cp := &source.Checkpoints{Dir: c.Checkpoint, Every: c.Int("checkpoint-every"), Late: c.String("late"), Config: produceConfig(c)}
	if cp.Every < 1 {
		return nil, stage.Usagef("--checkpoint-every %d: want 1 or more batches", cp.Every)
	}
	if err := cp.Open(); err != nil {
		return nil, err
	}
	common.CP = cp
	var wal *source.WAL
	if c.Bool("wal") {
		wal = source.NewWAL(cp, source.WALConfig{Header: c.Bool("header"), Whole: mode == modeWatch, Log: c.Log})
	}
	src, err := newProduceSource(c, mode, common, args, wal)
	if err == nil && wal != nil {
		err = wal.Open() // once the flags are known to be right: it writes
	}
	if err != nil {
		cp.Close()
		return nil, err
	}
	return &source.Checkpointed{Src: src.(stage.Source), CP: cp}, nil
}

// produceConfig is what a checkpoint records of produce's command line:
// everything but the flags that do not change the batches.
func produceConfig(c *stage.Context) string {
	config := stage.StateConfig(c.Context, c.Spec)
	var kept []string
	for _, f := range strings.Fields(config) {
		if !strings.HasPrefix(f, "--checkpoint-every=") && f != "--realtime=true" && !kafkaConnFlag(f) {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, " ")
}

// kafkaConnFlag tells whether f is a --kafka flag a restart may change:
// how the cluster is reached (its servers may move, its credentials
// rotate) does not change which records the batches hold, the topics do;
// --from is where the first run starts (a restart resumes at the
// checkpoint), and --until-caught-up where a run stops.
func kafkaConnFlag(f string) bool {
	for _, name := range []string{"--kafka=", "--tls=", "--tls-ca=", "--sasl=", "--sasl-user=", "--sasl-password-file=", "--from=", "--until-caught-up=", "--session-timeout=", "--on-data-loss="} {
		if strings.HasPrefix(f, name) {
			return true
		}
	}
	return false
}

// rewindable checks that produce can emit its batches again after a
// restart, which it does by reading its input again (see
// source.Checkpoints): files, or, with --wal, the log of what stdin, a
// named pipe, a socket or a watched directory gave; lines made without the
// clock.
func rewindable(c *stage.Context, mode produceMode, args []string) error {
	if c.Bool("wal") {
		// A file would be read twice after a restart: from the log, then
		// again as the live input.
		for _, name := range args {
			if fi, err := os.Stat(name); name != "-" && err == nil && fi.Mode().IsRegular() {
				return stage.Usagef("--wal: %s is a regular file, which produce reads again after a restart without a log; --wal is for stdin, named pipes, --socket and --watch: give only those, or drop --wal", name)
			}
		}
		return nil
	}
	way := "give files, or run without --checkpoint"
	if slices.Contains(produceFlagModes["wal"], mode) {
		way = "give --wal to log it in the checkpoint directory, give files, or run without --checkpoint"
	}
	switch mode {
	case modeKafka:
		return nil // it seeks to the checkpoint's offsets (source.Kafka)
	case modeSocket, modeWatch:
		return stage.Usagef("--checkpoint: %s input cannot be read again after a restart, and produce rewinds by reading its input again; give --wal to log it in the checkpoint directory, or run without --checkpoint", mode)
	case modeGenerate:
		if !c.Bool("no-delay") {
			return stage.Usagef("--checkpoint: --generate without --no-delay stamps lines with the clock, so a restart cannot make the same lines again; give --no-delay, or run without --checkpoint")
		}
		if c.Bool("randomize") && !c.IsSet("seed") {
			return stage.Usagef("--checkpoint: --generate --randomize needs --seed N, so a restart makes the same lines again")
		}
		return nil
	}
	if len(args) == 0 || slices.Contains(args, "-") {
		return stage.Usagef("--checkpoint: stdin cannot be read again after a restart, and produce rewinds by reading its input again; %s", way)
	}
	for _, name := range args {
		if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
			return stage.Usagef("--checkpoint: %s is not a regular file: it cannot be read again after a restart, and produce rewinds by reading its input again; %s", name, way)
		}
	}
	return nil
}

// newProduceSource builds the back end of mode; with wal, its line inputs
// go through the log.
func newProduceSource(c *stage.Context, mode produceMode, common source.Common, args []string, wal *source.WAL) (any, error) {
	var err error
	switch mode {
	case modeFrames:
		return newProduceFrames(c, common, args)
	case modeGenerate:
		return newProduceGenerate(c, common)
	case modeKafka:
		return newProduceKafka(c, common)
	}

	lc, err := produceLineConfig(c)
	if err != nil {
		return nil, err
	}
	lines := source.LinesConfig{Common: common, Line: lc, Inputs: source.FileInputs(args, c.Stdin)}
	switch mode {
	case modeQueue:
		return newProduceQueue(c, common, lc, args)
	case modeSocket:
		if wal != nil {
			return source.NewWALSocket(c.String("socket"), lines, wal), nil
		}
		return source.NewSocket(c.String("socket"), lines), nil
	case modeWatch:
		if wal != nil {
			return source.NewWALWatch(c.String("watch"), lines, wal), nil
		}
		return source.NewWatch(c.String("watch"), lines), nil
	case modeEvent:
		if lines.Layout, err = source.ParseTimeLayout(c.String("time-layout")); err != nil {
			return nil, stage.Usagef("--time-layout: %v", err)
		}
		if lines.Lateness, err = parseMs(c, "lateness", true); err != nil {
			return nil, err
		}
		lines.Late, lines.Realtime = c.String("late"), c.Bool("realtime")
	}
	if wal != nil {
		return source.NewWALLines(lines, wal), nil
	}
	return source.NewLines(lines), nil
}

func joinModes(modes []produceMode) string {
	s := make([]string, len(modes))
	for i, m := range modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func produceLineConfig(c *stage.Context) (source.LineConfig, error) {
	lc := source.LineConfig{
		Keyed: c.Bool("keyed"), KeyField: c.String("key-field"),
		Header: c.Bool("header"), TimeField: c.String("event-time"),
	}
	if err := lc.Format.UnmarshalText([]byte(c.String("format"))); err != nil {
		return lc, stage.Usagef("--format: %v", err)
	}
	if c.IsSet("event-time") && lc.TimeField == "" {
		return lc, stage.Usagef("--event-time: empty FIELD (want a column number, a column name with --header, or a JSON field name)")
	}
	if err := lc.Check(); err != nil {
		return lc, stage.Usagef("%v", err)
	}
	return lc, nil
}

func newProduceQueue(c *stage.Context, common source.Common, lc source.LineConfig, args []string) (any, error) {
	if len(args) == 0 {
		return nil, stage.Usagef("--queue: no FILE given (want one FILE per batch)")
	}
	q := source.QueueConfig{
		Common: common, Line: lc, AllAtOnce: c.Bool("all-at-once"),
		Batches: c.Int("batches"), Start: c.Int64("start"), Realtime: c.Bool("realtime"),
		Files: source.FileInputs(args, c.Stdin),
	}
	if name := c.String("default"); name != "" {
		in := source.FileInput(name, c.Stdin)
		q.Default = &in
	}
	queued := len(args)
	if q.AllAtOnce {
		queued = 1
	}
	switch {
	case c.IsSet("batches") && q.Batches < queued:
		return nil, stage.Usagef("--batches %d: want at least the %d batch(es) the queue makes", q.Batches, queued)
	case q.Default != nil && !c.IsSet("batches") && !q.Realtime:
		return nil, stage.Usagef("--default without --batches would emit batches for ever: give --batches N, or --realtime to run until a signal")
	}
	return source.NewQueue(q), nil
}

func newProduceFrames(c *stage.Context, common source.Common, args []string) (any, error) {
	if slices.Contains(args, "-") {
		if len(args) > 1 {
			return nil, stage.Usagef("--frames: \"-\" (stdin) cannot be replayed with other files")
		}
		args = nil
	}
	f := source.FramesConfig{
		Common: common, Files: args, Stdin: c.Stdin,
		Repartition: c.IsSet("partitions"), Realtime: c.Bool("realtime"),
	}
	if !c.IsSet("batch") {
		f.Interval = 0 // the files' own
	}
	return source.NewFrames(f), nil
}

func newProduceGenerate(c *stage.Context, common source.Common) (any, error) {
	g := source.GenerateConfig{
		Common: common, Random: c.Bool("randomize"), Count: c.Int64("count"),
		NoDelay: c.Bool("no-delay"), Stderr: c.Stderr,
	}
	if err := g.Generator.UnmarshalText([]byte(c.String("generate"))); err != nil {
		return nil, stage.Usagef("--generate: %v", err)
	}
	switch {
	case c.IsSet("count") && g.Count < 1:
		return nil, stage.Usagef("--count %d: want 1 or more lines", g.Count)
	case !g.Random && g.Count > source.TxSteps:
		return nil, stage.Usagef("--count %d: the non-random producer sends %d lines (steps 0..100); give --randomize for more", g.Count, source.TxSteps)
	case c.IsSet("seed") && !g.Random:
		return nil, stage.Usagef("--seed applies to --randomize only: the non-random producer has no randomness")
	case c.IsSet("start") && !g.NoDelay:
		return nil, stage.Usagef("--start applies to --generate with --no-delay only: otherwise lines are stamped by the clock")
	}
	g.Start = c.Clock.Now().UnixMilli()
	if c.IsSet("start") {
		g.Start = c.Int64("start")
	}
	g.Seed = c.Uint64("seed")
	if g.Random && !c.IsSet("seed") {
		g.Seed = rand.Uint64()
		c.Log.Info("random seed (repeat the run with --seed)", "seed", g.Seed)
	}
	return source.NewGenerate(g), nil
}
