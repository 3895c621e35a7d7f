#!/usr/bin/env bash
# bench/run.sh [N]: how fast records go through dstream's pipes, next to cat,
# mawk and Miller on the same file.
#
# Generates N transaction lines (default 10,000,000, about 450 MB) with
# bench/gen-transactions into bench/out/ (kept for the next run), checks once
# that `produce F | sink` gives back F byte for byte, then times each command
# 3 times, keeps the best wall-clock time, and prints a table: seconds, MB/s
# of input, records/s, and time relative to `mawk '{print}'`.
#
# produce reads the file in processing-time mode (no --event-time, no
# --queue): it reads as fast as it can and cuts batches on the wall clock
# every --batch (1s), so the run measures the stages and the pipes, not a
# clock. A batch of millions of records travels in 1 MiB chunks (frames).
#
# The issue's requirement: produce|sink at most 2x mawk over 10M
# transactions. The last line says PASS or FAIL; the exit status is 3 on
# FAIL, 0 on PASS, 1 if a command failed.
set -euo pipefail

. "$(dirname "$0")/common.sh" "$@"
bytes=$(stat -c %s "$F")

# Correctness first: a pass-through pipeline must give back every line.
produce "$F" | sink --format tsv | cmp - "$F"
cat "$F" >/dev/null # into the page cache: every command reads it from memory


W=104 # width of the command column

# row NEEDS CMD: time CMD (when the program NEEDS is installed) and print
# its line of the table. Sets $s to the seconds.
mawk_s=''
row() {
	local shown=${2//\"\$F\"/F}
	s=''
	if ! command -v "$1" >/dev/null; then
		printf "%-${W}s %s\n" "$shown" "skipped: no $1 on PATH"
		return
	fi
	s=$(best3 "$2")
	awk -v cmd="$shown" -v s="$s" -v bytes="$bytes" -v n="$N" -v m="${mawk_s:-$s}" -v w="$W" 'BEGIN {
		printf "%-" w "s %7.3f %7.1f %11.0f %6.2f\n", cmd, s, bytes / s / 1e6, n / s, s / m
	}'
}

echo "N=$N records, $bytes bytes ($F), $(nproc) cores, best of 3 wall-clock runs"
echo
printf "%-${W}s %7s %7s %11s %6s\n" command seconds MB/s records/s x-mawk
row mawk 'mawk '"'"'{print}'"'"' "$F" >/dev/null'
mawk_s=$s
row cat 'cat "$F" | cat >/dev/null'
row mlr 'mlr --csv --implicit-csv-header --headerless-csv-output cat "$F" >/dev/null'
row produce 'produce "$F" | sink --format tsv >/dev/null'
sink_s=$s
row produce 'produce "$F" >/dev/null'
row repartition 'produce "$F" | repartition 1 | repartition 1 | repartition 1 | repartition 1 | sink >/dev/null'
# One pass-through stage alone, reading a file of frames: the cost of a hop.
produce "$F" >"$F.frames"
row repartition 'repartition 1 <"$F.frames" >/dev/null'
row sink 'sink <"$F.frames" >/dev/null'
# Partitions compressed with s2 on the pipe: fewer bytes, more CPU.
row produce 'produce --compress s2 "$F" | sink --format tsv >/dev/null'
echo
awk -v s="$sink_s" -v m="$mawk_s" 'BEGIN {
	r = s / m
	printf "requirement: produce F | sink --format tsv <= 2x mawk: %.2fx  %s\n", r, (r <= 2 ? "PASS" : "FAIL")
	exit (r <= 2 ? 0 : 3)
}'
