#!/usr/bin/env bash
# examples.sh: runnable examples of dstream, one per feature, each checked
# against its expected output.
#
#   ./examples.sh                 build bin/, run every example, compare
#   ./examples.sh queue events    run only the examples named
#   UPDATE=1 ./examples.sh NAME   rewrite examples/expected/NAME from this run
#                                 (after a deliberate change: read the diff!)
#
# A dstream job is a shell pipeline. Each program is one DStream operation;
# between programs flow binary frames, batches of records stamped with their
# batch time. `produce` is the source (Spark's input DStreams), `print` and
# `sink` are the outputs (DStream.print, saveAsTextFiles, ...). Every example
# below is one such pipeline.
#
# Layout:
#   examples/               canned inputs (queue/*.txt, events.csv, ...)
#   examples/expected/NAME/ what example NAME must leave in its output folder
#   examples.out/NAME/      what it left this time (scratch, cleaned each run)
#   examples.out/NAME.stderr, NAME.diff   the stages' stderr, the difference
#
# Each example is a function ex_NAME that writes its results into "$out". The
# folder is compared with examples/expected/NAME by `diff -ru`, so both the
# set of files and their contents must match.
set -euo pipefail
cd "$(dirname "$0")"

go build -o bin/ ./cmd/...
PATH=$PWD/bin:$PATH # only inside this script

OUT=examples.out
rm -rf "$OUT"
mkdir -p "$OUT"

# --- 1. The seed's transaction producer, shown by print ---------------------
#
# The seed's KafkaTransactionProducer sends 101 non-random transactions,
# "step,MM/dd/yyyy,account,amount,description", sleeping (step+1)*50 ms before
# each: step 0 at 50 ms, step 1 at 150 ms, step s at 25*(s+1)*(s+2) ms. The
# stream gets sparser as it goes: 5 transactions in the first second, one
# every few seconds at the end (step 100 at 257.55 s).
#
# `--no-delay` replaces the sleeps with a virtual clock starting at --start
# (ms since the epoch), so the batch times, and the dates in the lines
# (UTC: 01/01/1970 here), are the same on every run. The batch of time T holds
# the records of [T-1s, T): step 5, sent at exactly 1050 ms, is in batch 2000.
# Every batch time is emitted, even when no record fell in it, and print
# shows each one as Spark's DStream.print does: a header with "Time: T ms",
# then the first 10 records (`--num N`), "..." if there are more, a blank
# line. produce also echoes every line on stderr, "Sent -> LINE", as the seed
# does.
ex_transactions() {
	produce --generate transactions --no-delay --start 0 --batch 1s 2>"$out/sent.txt" |
		print >"$out/print.txt"
}

# --- 2. A queue of canned batches (Spark's queueStream) ---------------------
#
# The seed's queueStream example: ten RDDs, (1 to 10).map(x => List(x % 4)).
# Here each is a file, examples/queue/01.txt ... 10.txt, of one line. With
# `--queue FILE...` every file is one batch, at times --start+D, +2D, ...
# (D = --batch, --start defaults to 0), so the output is the same every run:
# the basis of canned tests. `sink --with-time` writes each record as a line,
# with its batch time (ms) and a TAB in front.
ex_queue() {
	produce --batch 1s --queue examples/queue/*.txt |
		sink --with-time >"$out/stdout.tsv"
}

# The seed's own lines: a 5 s batch interval and testStream.print.
ex_queue_print() {
	produce --batch 5s --queue examples/queue/*.txt |
		print >"$out/print.txt"
}

# queueStream(queue, oneAtATime = false, defaultRDD): `--all-at-once` puts the
# whole queue in the first batch; once the queue is empty, `--default FILE`
# fills each batch, and `--batches N` says how many batches in all.
ex_queue_all_at_once() {
	produce --batch 1s --all-at-once --default examples/queue-default.txt --batches 3 \
		--queue examples/queue/*.txt |
		sink --with-time >"$out/stdout.tsv"
}

# --- 3. Event time: batches by the records' own timestamps ------------------
#
# examples/events.csv holds transactions whose first column is the time they
# happened, in ms since the epoch (1700000000100 is 2023-11-14 22:13:20.100
# UTC). `--event-time 1` puts each record in the batch of its own time, not of
# the time it was read: the batch of T holds [T-1s, T), so the line stamped
# 1700000001000 is in batch 1700000002000. Several lines arrive out of order
# (...0950 after ...1000, ...1900 after ...2300, ...2600 after ...3100, ...5900
# after ...6100). `--lateness 1s` keeps a batch open until a timestamp 1 s or
# more past its end has been seen, so all of them still make their batch.
# A batch with no record (1700000005000) is emitted all the same.
#
# produce never rewrites a record: the CSV format only tells it where the
# time is, and the quoted field "Movies, late show" goes through as read.
#
# `sink --text-files PREFIX --suffix S` is saveAsTextFiles: one file per batch,
# PREFIX-TIME.S, written to a temporary name and renamed, so a replay
# rewrites the same files (exactly once).
ex_events() {
	produce --batch 1s --format csv --event-time 1 --lateness 1s examples/events.csv |
		sink --text-files "$out/events" --suffix tsv
}

# A record older than a batch already emitted is late: it goes to --late FILE
# (and is counted), never silently dropped. In examples/events-late.csv the
# line ...2500 closes batch 1700000001000 (2500 is 1 s or more past its
# end), so ...0300, which comes next, is late.
ex_events_late() {
	produce --batch 1s --format csv --event-time 1 --lateness 1s \
		--late "$out/late.csv" examples/events-late.csv |
		sink --text-files "$out/events" --suffix tsv
}

# --- the runner -------------------------------------------------------------

all=(transactions queue queue_print queue_all_at_once events events_late)
if [ $# -gt 0 ]; then names=("$@"); else names=("${all[@]}"); fi

passed=0 failed=0
for name in "${names[@]}"; do
	if ! declare -F "ex_$name" >/dev/null; then
		echo "examples.sh: no example $name (have: ${all[*]})" >&2
		exit 2
	fi
	out=$OUT/$name
	mkdir -p "$out"
	# set -e applies inside the subshell: any failing stage fails the example.
	set +e
	(set -e; "ex_$name") 2>"$OUT/$name.stderr"
	status=$?
	set -e
	if [ $status -ne 0 ]; then
		echo "FAIL $name (exit status $status)"
		sed 's/^/    /' "$OUT/$name.stderr"
		failed=$((failed + 1))
		continue
	fi
	if [ -n "${UPDATE:-}" ]; then
		rm -rf "examples/expected/$name"
		mkdir -p examples/expected
		cp -r "$out" "examples/expected/$name"
		echo "updated examples/expected/$name"
	fi
	if diff -ru "examples/expected/$name" "$out" >"$OUT/$name.diff" 2>&1; then
		echo "ok  $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		cat "$OUT/$name.diff"
		failed=$((failed + 1))
	fi
done
echo "examples: $passed passed, $failed failed"
[ $failed -eq 0 ]
