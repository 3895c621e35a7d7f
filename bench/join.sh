#!/usr/bin/env bash
# bench/join.sh [N] [KEYS] [BATCHES]: time and memory of a join of two
# streams of N records per batch (default 1,000,000) over KEYS keys
# (default 100,000), BATCHES batches (default 5).
#
# Each side is KEY<TAB>VALUE lines, key i mod KEYS, so every key has N/KEYS
# records a side and a batch gives N*N/KEYS pairs (10M by default). The
# inputs are made once into frame files under bench/out/, so the run
# measures the join: reading both inputs, gathering and aligning the
# batches, the hash join, and writing the pairs as frames to /dev/null.
# /usr/bin/time -v gives the wall time and the peak RSS.
#
# The issue's target: under 1 s a batch and under 1 GiB. The last line says
# PASS or FAIL; the exit status is 3 on FAIL.
set -euo pipefail

N=${1:-1000000}
KEYS=${2:-100000}
BATCHES=${3:-5}
cd "$(dirname "$0")/.."
go build -o bin/ ./cmd/...
PATH=$PWD/bin:$PATH
mkdir -p bench/out

side() { # side NAME: bench/out/join-NAME-N-KEYS-BATCHES.frames
	local f=bench/out/join-$1-$N-$KEYS-$BATCHES
	if [ ! -s "$f.frames" ]; then
		awk -v n="$N" -v k="$KEYS" -v p="$1" 'BEGIN { for (i = 0; i < n; i++) printf "key%d\t%s%d\n", i % k, p, i }' >"$f.txt"
		local q=() i
		for ((i = 0; i < BATCHES; i++)); do q+=("$f.txt"); done
		produce --batch 1s --keyed --queue "${q[@]}" >"$f.frames.tmp"
		mv "$f.frames.tmp" "$f.frames"
	fi
	echo "$f.frames"
}
L=$(side left)
R=$(side right)
cat "$L" "$R" >/dev/null # into the page cache

# Correctness on the first batch: the pair count.
pairs=$(join "$R" <"$L" | sink --with-time | awk '$1 == 1000' | wc -l)
want=$((N * (N / KEYS)))
[ "$pairs" -eq "$want" ] || { echo "join gave $pairs pairs in batch 1000, want $want" >&2; exit 1; }

measure() { # measure LABEL CMD
	local out wall rss
	out=$({ /usr/bin/time -v bash -o pipefail -c "$2" >/dev/null; } 2>&1)
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' <<<"$out")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' <<<"$out")
	printf '%-60s %7.2f s  %7.3f s/batch  peak RSS %6d MiB\n' "$1" "$wall" "$(awk -v w="$wall" -v b="$BATCHES" 'BEGIN { print w / b }')" $((rss / 1024))
	LAST_PER_BATCH=$(awk -v w="$wall" -v b="$BATCHES" 'BEGIN { print w / b }')
	LAST_RSS=$rss
}

echo "join: $N records a side a batch, $KEYS keys, $BATCHES batches, $want pairs a batch, $(nproc) cores"
measure "join R < L > /dev/null" "join $R <$L"
per=$LAST_PER_BATCH rss=$LAST_RSS
measure "join R < L | sink > /dev/null  (RSS: the largest process)" "join $R <$L | sink"
measure "cogroup R < L > /dev/null" "cogroup $R <$L"

if awk -v p="$per" -v r="$rss" 'BEGIN { exit !(p < 1 && r < 1048576) }'; then
	echo "PASS: join under 1 s a batch and 1 GiB"
else
	echo "FAIL: join takes $per s a batch, $((rss / 1024)) MiB (target < 1 s, < 1 GiB)"
	exit 3
fi
