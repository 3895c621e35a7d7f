#!/usr/bin/env bash
# bench/ops-aggregate.sh [N]: per-batch aggregations (reducebykey,
# countbyvalue, count) over N generated transactions (default 10,000,000),
# next to the mawk program that computes the same totals.
#
# Input: bench/gen-transactions N, the file bench/run.sh uses (kept in
# bench/out/). Lines are id,date,account_number,amount,description.
#
# Batches: produce runs in processing-time mode (--batch 1s, no
# --event-time): the transaction lines carry no epoch-ms column, and
# processing time needs none. produce reads the file as fast as it can and
# cuts a batch at every wall-clock second, so 10M lines make 1 to 3 batches
# of millions of records, which travel in 1 MiB chunks; each aggregation
# gives one result per key per batch. The mawk programs give one result per
# key for the whole file. The work per record is the same; a per-key
# output line per batch is noise at this size. (To get one simulated second
# per batch instead, prefix each line with an epoch-ms column and use
# produce --format csv --event-time 1; that costs an extra pass, so it is
# not measured here.)
#
# Every dstream pipeline is checked once against mawk's totals (the sums
# of its per-batch results must equal mawk's counts), then every command is
# timed 3 times and the best wall-clock time kept. The table gives seconds,
# records/s and "x mawk", the throughput relative to the mawk program on
# the same line's group (above 1 is faster than mawk). The issue's target
# is 1.5x mawk or more.
set -euo pipefail

. "$(dirname "$0")/common.sh" "$@"
# The description column alone, for countbyvalue (which counts whole
# records, as Spark's countByValue counts elements).
export D=bench/out/descriptions-$N.txt
if [ ! -s "$D" ] || [ "$D" -ot "$F" ]; then
	cut -d, -f5 "$F" >"$D"
fi
# Keyed frames, for the cost of the stage alone (no produce in front).
export K=bench/out/transactions-$N.keyed3.frames
if [ ! -s "$K" ] || [ "$K" -ot "$F" ]; then
	produce --format csv --key-field 3 "$F" >"$K"
fi
cat "$F" "$D" "$K" >/dev/null # into the page cache

# check DSTREAM MAWK: the per-key totals of DSTREAM's output (KEY<TAB>N
# lines, one per key per batch) must equal MAWK's (KEY<TAB>N, one per key).
check() {
	local a b
	a=$(bash -o pipefail -c "$1" | awk -F'\t' '{s[$1] += $2} END {for (k in s) printf "%s\t%d\n", k, s[k]}' | sort)
	b=$(bash -o pipefail -c "$2" | awk -F'\t' '{printf "%s\t%d\n", $1, $2}' | sort)
	if [ "$a" != "$b" ]; then
		printf 'MISMATCH\n  %s\n  %s\n--- dstream\n%s\n--- mawk\n%s\n' "$1" "$2" "$a" "$b" >&2
		exit 1
	fi
}


W=118
ref=''
# row CMD: time CMD and print its line; the first row of a group (group)
# is the mawk reference.
row() {
	local shown=${1//\"\$F\"/F}
	shown=${shown//\"\$D\"/D}
	shown=${shown//\"\$K\"/K}
	s=$(best3 "$1")
	awk -v cmd="$shown" -v s="$s" -v n="$N" -v m="${ref:-$s}" -v w="$W" 'BEGIN {
		printf "%-" w "s %7.3f %11.0f %6.2f\n", cmd, s, n / s, m / s
	}'
}
group() {
	echo
	echo "# $1"
	ref=''
	row "$2"
	ref=$s
}

MAWK_COUNT3='mawk -F, '"'"'{c[$3]++} END {for (k in c) print k "\t" c[k]}'"'"' "$F"'
MAWK_SUM3='mawk -F, '"'"'{s[$3] += $4} END {for (k in s) print k "\t" s[k]}'"'"' "$F"'
MAWK_COUNT5='mawk -F, '"'"'{c[$5]++} END {for (k in c) print k "\t" c[k]}'"'"' "$F"'
MAWK_COUNTD='mawk '"'"'{c[$0]++} END {for (k in c) print k "\t" c[k]}'"'"' "$D"'
MAWK_NR='mawk '"'"'END {print NR}'"'"' "$F"'

DS_COUNT3='produce --format csv --key-field 3 "$F" | reducebykey count | sink'
DS_COUNT5='produce --format csv --key-field 5 "$F" | reducebykey count | sink'
DS_CBV='produce "$D" | countbyvalue | sink'
DS_CBV5='produce "$F" | map '"'"'split(value, ",")[4]'"'"' | countbyvalue | sink'
DS_SUM3_SPLIT='produce "$F" | keyby '"'"'split(value, ",")[2]'"'"' --value '"'"'split(value, ",")[3]'"'"' | reducebykey sum | sink'
DS_SUM3_PARSE='produce "$F" | parse --csv '"'"'id:int,date,account_number,amount:decimal,description'"'"' | keyby value.account_number --value value.amount | reducebykey sum | sink'
DS_COUNT='produce "$F" | count | sink'

check "$DS_COUNT3" "$MAWK_COUNT3"
check "$DS_COUNT5" "$MAWK_COUNT5"
check "$DS_CBV" "$MAWK_COUNTD"
check "$DS_CBV5" "$MAWK_COUNT5"
check "$DS_COUNT | awk '{print \"n\t\" \$1}'" "$MAWK_NR | awk '{print \"n\t\" \$1}'"

echo "N=$N records ($F), $(nproc) cores, best of 3 wall-clock runs; x mawk = mawk's time / this time"
printf "%-${W}s %7s %11s %6s\n" command seconds records/s x-mawk
group "count per account (column 3)" "$MAWK_COUNT3"
row "$DS_COUNT3"
row 'reducebykey count <"$K" | sink'
group "count per description (column 5)" "$MAWK_COUNT5"
row "$DS_COUNT5"
row "$DS_CBV5"
group "countbyvalue of the description column (D = cut -d, -f5 F)" "$MAWK_COUNTD"
row "$DS_CBV"
group "count of records" "$MAWK_NR"
row "$DS_COUNT"
group "sum of amounts per account (mawk's sums are floats: 1.35432e+09)" "$MAWK_SUM3"
if [ -n "${SKIP_KEYBY:-}" ]; then
	echo "(keyby pipeline skipped: SKIP_KEYBY set)"
else
	row "$DS_SUM3_SPLIT"
	row "$DS_SUM3_PARSE"
fi
