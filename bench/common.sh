# bench/common.sh: what the benchmark scripts share. Source it from a script
# in bench/ with the script's arguments: `. "$(dirname "$0")/common.sh" "$@"`.
#
# It takes N (records, default 10,000,000) from the first argument, builds
# bin/ and puts it first on PATH, and generates the N transactions once
# into F=bench/out/transactions-N.txt (kept for later runs).

N=${1:-10000000}
case $N in '' | 0 | *[!0-9]*)
	echo "usage: $0 [N]   (N records, default 10000000)" >&2
	exit 2
	;;
esac
cd "$(dirname "$0")/.."
go build -o bin/ ./cmd/...
PATH=$PWD/bin:$PATH

mkdir -p bench/out
export F=bench/out/transactions-$N.txt
if [ ! -s "$F" ]; then
	bench/gen-transactions "$N" >"$F.tmp"
	mv "$F.tmp" "$F"
fi

# best3 CMD: the best of 3 wall-clock times of CMD, in seconds. CMD runs
# under bash -o pipefail with F in its environment; its stdout is dropped.
best3() {
	local best='' t0 t1 i
	for i in 1 2 3; do
		t0=$EPOCHREALTIME
		bash -o pipefail -c "$1" >/dev/null
		t1=$EPOCHREALTIME
		best=$(awk -v a="$t0" -v b="$t1" -v best="$best" \
			'BEGIN { d = b - a; if (best == "" || d < best + 0) print d; else print best }')
	done
	echo "$best"
}
