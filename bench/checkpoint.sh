#!/usr/bin/env bash
# bench/checkpoint.sh [N]: what checkpoints cost on the transaction pipeline.
#
# Input: the N generated transactions (default 10,000,000) of bench/run.sh,
# each line prefixed with an event time so that the batches are simulated
# seconds: 100,000 lines a second, so N/100,000 batches (100 for 10M).
# The pipeline sums amounts by account over a sliding window and keeps a
# running total per account, written one file per batch:
#
#   produce --format csv --event-time 1 E | keyby ... --value ...
#     | reducebykeyandwindow 10s/1s sum | updatestatebykey sum | sink --text-files
#
# It runs twice, best of 3 each: with --ephemeral (no checkpoint directory)
# and with DSTREAM_CHECKPOINT (--checkpoint-every 10: a barrier every 10
# batches, each stage snapshotting, the sink fsyncing its files and
# committing). The two outputs must be the same files; the difference in
# time is the checkpoints' overhead. The issue's target: under 10%.
set -euo pipefail

. "$(dirname "$0")/common.sh" "$@"
E=bench/out/events-$N.csv
if [ ! -s "$E" ] || [ "$E" -ot "$F" ]; then
	awk '{printf "%.0f,%s\n", 1700000000000 + int((NR - 1) / 100), $0}' "$F" >"$E"
fi
export E
cat "$E" >/dev/null
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OUT

# stages: STATEFUL_FLAGS — the pipeline with --ephemeral or with a checkpoint.
pipeline() {
	echo "produce --format csv --event-time 1 \"\$E\" | keyby 'split(value, \",\")[3]' --value 'split(value, \",\")[4]' | reducebykeyandwindow $1 10s/1s sum | updatestatebykey $1 sum | sink --text-files \"\$OUT/$2/t\""
}
EPH=$(pipeline --ephemeral eph)
CK="rm -rf \"\$OUT/state\"; export DSTREAM_CHECKPOINT=\"\$OUT/state\"; $(pipeline '' ck)"

bash -o pipefail -c "$EPH"
bash -o pipefail -c "$CK"
diff -r "$OUT/eph" "$OUT/ck" >/dev/null || { echo "MISMATCH: the checkpointed run wrote other files" >&2; exit 1; }
batches=$(ls "$OUT/ck" | wc -l)
snap=$(du -sh "$OUT/state" | cut -f1)

eph=$(best3 "$EPH")
ck=$(best3 "$CK")
echo "N=$N records, $batches batches, $(nproc) cores, best of 3 wall-clock runs; checkpoint directory $snap"
awk -v e="$eph" -v c="$ck" -v cmd="$(pipeline '[--ephemeral]' X)" 'BEGIN {
	printf "%s\n", cmd
	printf "  --ephemeral                      %7.3f s\n", e
	printf "  DSTREAM_CHECKPOINT, every 10     %7.3f s   overhead %+.1f%%\n", c, (c - e) / e * 100
}'
