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

# --- 4. The seed's analysis: parse, key by account, sum per batch ----------
#
# The seed parses every transaction line into a SimpleTransaction, sends the
# lines it cannot parse to a side output as UnparsableTransaction, and sums
# the amounts of each account in every batch. Here that is four stages:
#
#   parse --csv SCHEMA   each CSV line becomes a JSON object, typed by SCHEMA;
#                        a line that fails goes to --unparsable FILE as
#                        {"id":ID,"original":LINE,"error":WHY} and the stream
#                        goes on without it (ID is null if the id is bad too)
#   keyby EXPR --value EXPR
#                        key by value.account_number, keep only value.amount
#   reducebykey sum      one record per account and batch: the exact decimal
#                        sum (no float rounding: 10.34 + 1073.12 = 1083.46)
#   print                (KEY,VALUE) per record, as DStream.print
#
# The input is the generator's steps 0..20 (see ex_transactions) regrouped
# into three queue batches, so that an account has several amounts in one
# batch, with bad lines mixed in: in 01.csv step 8's amount is "1O.34" (a
# letter O); in 02.csv step 13's date is February 30th, step 14 lacks its
# description, and step 15 is a refund, -306.21, whose quoted description
# "Park, refund" holds a comma; in 03.csv the id "x21" is not an int.
# `--batches 4` adds an empty fourth batch: it gives an empty batch all the
# way down, so print still shows its header.
#
# The sums, by hand (keys in the order of their first record in the batch):
#   1000  123-ABC-789 10.34+1073.12 = 1083.46    456-DEF-456 94.65+20.0 = 114.65
#         333-XYZ-999  2.49+7.92    =   10.41    987-CBA-321 306.21+4322.33 = 4628.54
#         (step 8 is unparsable)
#   2000  456-DEF-456 94.65; 333-XYZ-999 2.49; 987-CBA-321 306.21-306.21 = 0;
#         123-ABC-789 1073.12 (steps 13 and 14 are unparsable)
#   3000  123-ABC-789 10.34+1073.12 = 1083.46; 456-DEF-456 94.65;
#         333-XYZ-999 2.49; 987-CBA-321 306.21 (x21 is unparsable)
#   4000  nothing
# The same, independently of the stages (a good line has 5 fields, a date
# that exists and a numeric id and amount; 02/30 is weeded out by hand):
#   for f in examples/transactions/*.csv; do
#     awk -F, '$1 ~ /^[0-9]+$/ && $4 ~ /^-?[0-9.]+$/ && NF >= 5 && $2 != "02/30/1970" {
#       if (!($3 in s)) o[n++] = $3; s[$3] += $4 }
#       END { for (i = 0; i < n; i++) printf "%s %.2f\n", o[i], s[o[i]] }' "$f"
#   done
ex_transactions_by_account() {
	produce --batch 1s --batches 4 --queue examples/transactions/*.csv |
		parse --csv 'id:int,date:date(01/02/2006),account_number,amount:decimal,description' \
			--unparsable "$out/unparsable.jsonl" |
		keyby 'value.account_number' --value 'value.amount' |
		reducebykey sum |
		print >"$out/print.txt"
}

# --- 5. Joining two streams, batch by batch ----------------------------------
#
# Spark's join and leftOuterJoin pair the records of two keyed DStreams that
# have the same key AND the same batch time: batch 1000 of one stream with
# batch 1000 of the other, never across batches (for that, window first).
# Here the left stream (stdin) is amounts by account, the right one (OTHER, a
# file of frames, or <(...) in bash) customer names by account:
#
#   batch  names (right)                     amounts (left)
#   1000   123 Alice, 456 Bob, 333 Carol     123 10.34, 456 94.65, 987 306.21,
#                                            123 1073.12
#   2000   123 Alice, 987 Dave, 987 Erin     333 2.49, 987 4322.33, 123 20.0
#   3000   (empty: --batches 3 pads it)      456 94.65
#
# join emits KEY<TAB>[v,w] for every pair with equal keys: for each left
# record in order, its matches in order. So 987's 4322.33 pairs with both
# Dave and Erin (a joint account); 987's 306.21 in 1000, 333's 2.49 in 2000
# (Carol is only in 1000) and all of 3000 have no match and give nothing;
# Carol in 1000 has no amount and gives nothing. A value that is valid JSON
# goes into the pair as is (20.0 stays 20.0), other text as a JSON string.
#
# leftouterjoin keeps every left record: one without a match gives
# KEY<TAB>[v,null], Spark's (v, None). The two streams must give the same
# batch times: when one ends first, the output ends with it (and a warning),
# which is why the names stream is padded to 3 batches.
ex_join() {
	produce --batch 1s --keyed --batches 3 --queue examples/join/names-*.tsv \
		>"$out/names.frames"
	produce --batch 1s --keyed --queue examples/join/amounts-*.tsv |
		join "$out/names.frames" |
		sink --with-time >"$out/join.tsv"
	produce --batch 1s --keyed --queue examples/join/amounts-*.tsv |
		leftouterjoin "$out/names.frames" |
		sink --with-time >"$out/leftouterjoin.tsv"
	# The frames are a means, not a result: keep them out of the comparison.
	rm "$out/names.frames"
}

# --- 6. Windows: the seed's 3 s window sliding every 2 s ---------------------
#
# The seed's windowing: batches every second, a window of 3 s that slides
# every 2 s. `window 3s/2s` emits at every multiple of 2 s the records of the
# batches in (T-3s, T]: the window at 2000 holds batches 1000 and 2000 (the
# first window is partial), the one at 4000 holds 2000, 3000 and 4000, so
# batch 2000 is counted twice, as the seed warns. reducebykey then sums each
# window per account. 3 s and 2 s must be multiples of the batch interval, as
# the seed says; `window 3s/2s` after `--batch 2s` exits with an error naming
# the three durations.
#
# window keeps state across batches, so it needs a checkpoint directory (the
# seed: a stateful stream without one "immediately throw[s] an exception"):
# DSTREAM_CHECKPOINT gives it to every stage of the pipeline; produce then
# writes a checkpoint every 10 batches. At the end of the input, the windows
# that still hold data are emitted (here up to step 40, sent at 42.05 s).
ex_window() {
	export DSTREAM_CHECKPOINT=$OUT/window.checkpoint
	produce --generate transactions --no-delay --start 0 --count 41 --batch 1s 2>/dev/null |
		parse --csv 'id:int,date:date(01/02/2006),account_number,amount:decimal,description' |
		keyby 'value.account_number' --value 'value.amount' |
		window 3s/2s |
		reducebykey sum |
		print >"$out/print.txt"
	# A 3 s window cannot be made of 2 s batches (another pipeline: no
	# checkpoint directory, which would hold the first pipeline's state).
	unset DSTREAM_CHECKPOINT
	produce --batch 2s --generate transactions --no-delay --start 0 --count 3 2>/dev/null |
		window --ephemeral 3s/2s >/dev/null 2>"$out/error.txt" || true
}

# --- 7. State across batches: a running total per account -------------------
#
# updateStateByKey: every batch, every account's total so far (its state),
# whether or not it has transactions in the batch. The seed's generator
# steps 0-40 again; each batch prints every account seen so far.
ex_running_totals() {
	export DSTREAM_CHECKPOINT=$OUT/running_totals.checkpoint
	produce --generate transactions --no-delay --start 0 --count 41 --batch 5s 2>/dev/null |
		parse --csv 'id:int,date:date(01/02/2006),account_number,amount:decimal,description' |
		keyby 'value.account_number' --value 'value.amount' |
		updatestatebykey sum |
		print >"$out/print.txt"
}

# --- 8. remember and slice: querying the stream's recent batches -------------
#
# The seed: a 5 s queueStream of (1 to 10).map(x => List(x % 4)), with
# ssc.remember(Seconds(60)), then testStream.slice(startTime,
# startTime + Seconds(10)) "to run queries against the underlying data
# outside of the stream logic". remember keeps the last 60 s of batches in
# its checkpoint directory; slice, a source, emits those of a time range as
# a stream, so any stage can query them: here the batches of 0 s to 10 s
# (5000 and 10000), then countbyvalue over the first 30 s.
ex_remember_slice() {
	ck=$OUT/remember_slice.checkpoint
	produce --batch 5s --queue examples/queue/*.txt |
		remember 60s --checkpoint "$ck" |
		print >"$out/stream.txt"
	slice 0 10000 "$ck" | print >"$out/slice-0-10000.txt"
	slice 0 30000 "$ck" | glom | sink --with-time >"$out/slice-0-30000-glom.tsv"
}

# --- 9. Recovery: a pipeline stopped half way goes on where it stopped ------
#
# With a checkpoint directory, produce writes a checkpoint every
# --checkpoint-every batches, every stage saves its state in it, and the
# sink commits it once the batch files before it are on disk. Here batch 5
# holds an amount that is not a number ("ten"): updatestatebykey stops the
# pipeline there, with an error naming the batch and the record, after
# checkpoint 2 (batch 4000) was committed. The input is fixed and the same
# command runs again: every stage starts from checkpoint 2, produce reads
# its input again and sends only batches 5000 to 7000, and the files of the
# two runs together are those of a run that never stopped (compare with
# uninterrupted/). `ls` shows which run wrote which files.
ex_recovery() {
	export DSTREAM_CHECKPOINT=$OUT/recovery.checkpoint
	in=$OUT/recovery.input
	rm -rf "$in" && mkdir -p "$in" && cp examples/recovery/*.tsv "$in"/
	run() {
		produce --batch 1s --keyed --checkpoint-every 2 --queue "$in"/*.tsv |
			updatestatebykey sum |
			sink --text-files "$out/totals" --suffix tsv
	}
	run 2>"$out/first-run.stderr" || echo "exit status $?" >>"$out/first-run.stderr"
	ls "$out" >"$out/files-after-first-run.txt"
	sed -i 's/\tten$/\t10/' "$in/5.tsv"
	run
	DSTREAM_CHECKPOINT=$OUT/recovery.uninterrupted
	mkdir -p "$out/uninterrupted"
	produce --batch 1s --keyed --queue "$in"/*.tsv |
		updatestatebykey --ephemeral sum |
		sink --text-files "$out/uninterrupted/totals" --suffix tsv
}

# --- 9. The seed's Kafka consumer, in a consumer group ------------------------
#
# The seed reads its transactions from Kafka with KafkaUtils.createStream and
# a group id, and parses each line into a SimpleTransaction, or an
# UnparsableTransaction when it is bad. Here the broker is the test broker
# (kfake, in memory on 127.0.0.1: no Kafka to install), started for the
# example with topic transactions of 3 partitions. The seed's producer sends
# its 101 transactions (--no-delay: at once), then the canned files of
# example 4, which hold bad lines. The consumer is `produce --kafka ...
# --group analysis`: with --until-caught-up it reads what is there and ends
# (a cron job's run). Parsed records go to stdout as JSON, the bad ones to
# the --unparsable side output; both are sorted here, as the batches split
# them by the clock. Offsets are committed to the group when the sink has
# committed the pipeline's checkpoint, so a second run of the group reads
# nothing: every record was processed once.
ex_kafka_consumer() {
	go build -o bin/kafka-broker ./internal/kafkatest/broker
	local addr=$OUT/kafka.addr broker
	# The broker runs until its stdin (this fd) is closed.
	exec {broker}> >(exec kafka-broker transactions:3 >"$addr")
	until [ -s "$addr" ]; do sleep 0.05; done
	local K
	K=$(head -n 1 "$addr")
	produce --generate transactions --no-delay --start 0 2>/dev/null |
		sink --kafka "$K" --topic transactions
	produce --batch 1s examples/transactions/*.csv | sink --kafka "$K" --topic transactions
	export DSTREAM_CHECKPOINT=$OUT/kafka.checkpoint
	consume() {
		produce --batch 1s --kafka "$K" --topic transactions --group analysis --until-caught-up |
			parse --csv 'id:int,date:date(01/02/2006),account_number,amount:decimal,description' \
				--unparsable "$out/unparsable.unsorted"
	}
	consume | sink | sort -n -t: -k2 >"$out/transactions.jsonl"
	sort "$out/unparsable.unsorted" >"$out/unparsable.jsonl" && rm "$out/unparsable.unsorted"
	consume | count | sink | awk '{ n += $1 } END { print n + 0, "records in the second run" }' >"$out/second-run.txt"
	rm -f "$out/unparsable.unsorted"
	exec {broker}>&-
}

# --- the runner -------------------------------------------------------------

all=(transactions queue queue_print queue_all_at_once events events_late
	transactions_by_account join window running_totals remember_slice recovery
	kafka_consumer)
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
