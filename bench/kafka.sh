#!/usr/bin/env bash
# bench/kafka.sh [N]: dstream's Kafka source and sink against a broker on
# this machine, and the latency of a record through a pipeline.
#
# The broker is internal/kafkatest's (franz-go's kfake: in memory, no disk,
# on 127.0.0.1), a fresh one for each measurement; the figures are upper
# bounds of what a real cluster on the network gives. Records are N
# (default 1,000,000) lines of 100 bytes (a 10-digit index, then padding),
# made once by awk into bench/out/ (kept for the next run).
#
#  1. sink to Kafka: `produce --batch 1s FILE | sink --kafka $K --topic T`
#     (acks=all, the default; unkeyed records go round-robin to the 6
#     partitions), a new topic for each of the 3 runs; each topic is then
#     read back and must hold exactly the N records.
#  2. Kafka to files: a topic of 6 partitions filled as in 1 is read by
#     `produce --kafka $K --topic T --until-caught-up --batch 1s
#     | sink --text-files DIR/b`, 3 runs, a fresh DIR each; the files must
#     hold exactly the N records.
#  3. End-to-end latency: bench/kafkalat writes 5,000 records/s for 10 s
#     (RATE and DURATION, in seconds, in the environment change that) to a
#     topic of 6 partitions, each record's value its send time, while
#     `produce --kafka $K --topic L --batch 10ms | map value | filter true
#     | sink` runs; kafkalat read notes when each line comes out of sink
#     and prints p50/p99/max of (arrival - send time) over the records sent
#     after the first second (the warm-up: connections, first fetches).
#     The send time is when the record is handed to kafka-go, so the
#     write's own round trip (acks=all) is part of the figure; kafkalat
#     write's call times are shown next to it.
#
# Times are wall-clock, best of 3. The issue's targets: (1) >= 200k
# records/s, (2) >= 300k records/s, (3) p99 < 50 ms. The last line says
# PASS or FAIL; the exit status is 3 on FAIL, 0 on PASS, 1 if a command
# failed.
set -euo pipefail

N=${1:-1000000}
case $N in '' | 0 | *[!0-9]*)
	echo "usage: $0 [N]   (N records, default 1000000)" >&2
	exit 2
	;;
esac
RATE=${RATE:-5000}
DURATION=${DURATION:-10}
cd "$(dirname "$0")/.."
go build -o bin/ ./cmd/...
go build -o bin/kafka-broker ./internal/kafkatest/broker
go build -o bin/kafkalat ./bench/kafkalat
PATH=$PWD/bin:$PATH

mkdir -p bench/out
export F=bench/out/records100-$N.txt
if [ ! -s "$F" ]; then
	awk -v n="$N" 'BEGIN {
		pad = sprintf("%89s", ""); gsub(/ /, "x", pad)
		for (i = 0; i < n; i++) printf "%010d %s\n", i, pad
	}' >"$F.tmp"
	mv "$F.tmp" "$F"
fi
cat "$F" >/dev/null # into the page cache

# Other work on the machine shows in these figures (latency most): the
# table gives the load average before and after.
load() { cut -d ' ' -f 1-3 /proc/loadavg; }
load0=$(load)

TMP=$(mktemp -d)
export TMP
BROKER=''
stop_broker() {
	if [ -n "$BROKER" ]; then
		exec 3>&- # the end of its stdin stops it
		kill "$BROKER" 2>/dev/null || true
		wait "$BROKER" 2>/dev/null || true
		BROKER=''
	fi
}
# On any exit: the latency pipeline's produce (if still running), the
# broker, TMP. (set -e holds in the trap too: no command here may fail.)
cleanup() {
	if [ -s "$TMP/produce.pid" ]; then
		kill "$(cat "$TMP/produce.pid")" 2>/dev/null || true
	fi
	stop_broker
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_broker TOPIC:PARTITIONS...: a fresh broker (the last one stopped),
# its address in K. Its stdin is a fifo held open on fd 3.
start_broker() {
	stop_broker
	rm -f "$TMP/broker.in" "$TMP/broker.addr"
	mkfifo "$TMP/broker.in"
	kafka-broker "$@" <"$TMP/broker.in" >"$TMP/broker.addr" 2>"$TMP/broker.err" &
	BROKER=$!
	exec 3>"$TMP/broker.in"
	local i
	for ((i = 0; i < 100; i++)); do
		K=$(head -n 1 "$TMP/broker.addr")
		[ -n "$K" ] && break
		kill -0 "$BROKER" 2>/dev/null || { cat "$TMP/broker.err" >&2; exit 1; }
		sleep 0.05
	done
	[ -n "$K" ] || { echo "the broker printed no address in 5 s" >&2; exit 1; }
	export K
}

# seconds CMD: the wall-clock time of CMD, run under bash -o pipefail with
# K, F and TMP in its environment; its stdout is dropped.
seconds() {
	local t0=$EPOCHREALTIME
	bash -o pipefail -c "$1" >/dev/null
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }'
}
minimum() { printf '%s\n' "$@" | sort -g | head -n 1; }

# check WHAT: stdin must be the N records, each once: the count and the
# sum of the indexes (0 + 1 + ... + N-1) catch a lost or repeated record.
check() {
	awk -v n="$N" -v what="$1" '{ c++; s += $1 } END {
		if (c != n || s != n * (n - 1) / 2) {
			printf "MISMATCH: %s: %d records, index sum %.0f; want %d, %.0f\n", what, c, s, n, n * (n - 1) / 2 > "/dev/stderr"
			exit 1
		}
	}'
}
readback() { produce --kafka "$K" --topic "$1" --until-caught-up --batch 1s | sink; }

# 1. sink --kafka, a new topic each run.
start_broker out1:6 out2:6 out3:6
times=()
for i in 1 2 3; do
	times+=("$(seconds "produce --batch 1s \"\$F\" | sink --kafka \"\$K\" --topic out$i")")
	readback "out$i" | check "sink --kafka run $i, topic out$i"
done
sink_s=$(minimum "${times[@]}")

# 2. produce --kafka to files, from a topic that sink filled.
start_broker in:6
produce --batch 1s "$F" | sink --kafka "$K" --topic in
times=()
for i in 1 2 3; do
	times+=("$(seconds "produce --kafka \"\$K\" --topic in --until-caught-up --batch 1s | sink --text-files \"\$TMP/files$i/b\"")")
	cat "$TMP/files$i"/b-* | check "produce --kafka run $i, $TMP/files$i"
	rm -rf "$TMP/files$i"
done
produce_s=$(minimum "${times[@]}")

# 3. Latency. produce's pid is saved so that it alone is stopped (SIGTERM:
# it emits STOP and the pipeline drains and ends).
start_broker lat:6
LN=$(awk -v r="$RATE" -v s="$DURATION" 'BEGIN { printf "%d", r * s }')
{
	produce --kafka "$K" --topic lat --batch 10ms &
	echo $! >"$TMP/produce.pid"
	wait $!
} | map value | filter true | sink | kafkalat read --warmup 1s --count "$LN" >"$TMP/lat" &
PIPE=$!
sleep 1 # produce connected and fetching
kafkalat write --kafka "$K" --topic lat --rate "$RATE" --count "$LN" 2>"$TMP/write.err" || { cat "$TMP/write.err" >&2; exit 1; }
sleep 0.5 # the last records through the pipeline
kill -TERM "$(cat "$TMP/produce.pid")"
wait "$PIPE"
lat=$(cat "$TMP/lat")
writer=$(cat "$TMP/write.err")
stop_broker

# The table.
W=84
echo "N=$N records of 100 bytes, $(nproc) cores, kfake broker on 127.0.0.1 (in memory), best of 3 wall-clock runs"
echo "load average before: $load0, after: $(load)"
echo
printf "%-${W}s %8s %11s %s\n" command seconds records/s target
awk -v s="$sink_s" -v n="$N" -v w="$W" 'BEGIN {
	printf "%-" w "s %8.3f %11.0f %s\n", "produce --batch 1s F | sink --kafka K --topic T (acks=all, 6 partitions)", s, n / s, ">= 200000"
}'
awk -v s="$produce_s" -v n="$N" -v w="$W" 'BEGIN {
	printf "%-" w "s %8.3f %11.0f %s\n", "produce --kafka K --topic T --until-caught-up --batch 1s | sink --text-files D/b", s, n / s, ">= 300000"
}'
echo
echo "latency, $RATE records/s for $DURATION s, the first second left out (kafkalat write | Kafka | ... | kafkalat read):"
echo "  produce --kafka K --topic L --batch 10ms | map value | filter true | sink"
echo "  $lat   (target p99 < 50 ms)"
echo "  kafkalat write's calls, stamp to acks=all (part of the above): ${writer#*calls: }"
echo
awk -v s="$sink_s" -v p="$produce_s" -v n="$N" -v lat="$lat" 'BEGIN {
	match(lat, /p99=[0-9.]+/); p99 = substr(lat, RSTART + 4, RLENGTH - 4) + 0
	ok = n / s >= 200000 && n / p >= 300000 && p99 < 50
	printf "requirements: sink --kafka %.0fk/s >= 200k, produce --kafka %.0fk/s >= 300k, p99 %.1f ms < 50: %s\n",
		n / s / 1000, n / p / 1000, p99, (ok ? "PASS" : "FAIL")
	exit (ok ? 0 : 3)
}'
