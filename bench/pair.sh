#!/usr/bin/env bash
# bench/pair.sh - alternating runs of two servers on one scenario, for
# before/after comparisons on a noisy machine: A, B, A, B, ... each run with a
# fresh server pinned to CPU 0 and sio-bench pinned to CPU 1, then the medians
# and their ratio.
#
#   bash bench/pair.sh [--reps N] A B -- SIO-BENCH-ARGS...
#
# A and B: a server binary (started as BIN --port P --ping-interval 25000
# --ping-timeout 20000 --connect-timeout 45000, i.e. sio-test-server from any
# build), or "raw" (build/bench/bin/ws-echo-server --broadcast; sio-bench then
# gets --raw). Examples:
#
#   # this tree against the raw ceiling, broadcast to 1,000 receivers
#   bash bench/pair.sh build/bench/bin/sio-test-server raw -- broadcast -n 1000 -s 4 -w 2 -d 6
#   # an older commit against this tree (build it first into another directory)
#   bash bench/pair.sh /tmp/old/bin/sio-test-server build/bench/bin/sio-test-server -- echo -n 100 -w 10
#
# Prints each run (ops/s, server core us/op, tool CPU) and the medians.
# Loopback only; every run is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=3
if [ "${1:-}" = --reps ]; then REPS=$2; shift 2; fi
if [ $# -lt 4 ] || [ "$3" != -- ]; then sed -n '2,20p' "$0"; exit 1; fi
A=$1 B=$2
shift 3
BIN=build/bench/bin
if [ ! -x "$BIN/sio-bench" ] || [ ! -x "$BIN/ws-echo-server" ]; then
  cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DSIO_TESTS=ON >/dev/null
  cmake --build build/bench -j2 --target sio-bench sio-test-server ws-echo-server >/dev/null
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
OUT=$(mktemp /tmp/sio-pair.XXXXXX)
trap 'rm -f "$OUT" "$OUT.log"' EXIT

run() { # server -> one line "ops us_per_op tool_cpu"
  local srv=$1 mode=() pid port=""
  shift
  if [ "$srv" = raw ]; then
    taskset -c 0 "$BIN/ws-echo-server" --port 0 --broadcast >"$OUT.log" 2>&1 &
    mode=(--raw)
  else
    taskset -c 0 "$srv" --port 0 --ping-interval 25000 --ping-timeout 20000 \
      --connect-timeout 45000 >"$OUT.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$OUT.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then kill "$pid" 2>/dev/null; echo "pair.sh: $srv did not start" >&2; exit 1; fi
  timeout -k 5 300 taskset -c 1 "$BIN/sio-bench" "$@" "${mode[@]}" --port "$port" \
    --server-pid "$pid" --server-cpu 0 --progress 0 -q >"$OUT" || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  /usr/bin/python3 -c '
import json, sys
try:
    d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    print(d["ops_per_s"], d["server_cpu_us_per_op"], d["tool_cpu"])
except Exception:
    print("nan nan nan")' "$OUT"
}

declare -a RA RB
for r in $(seq 1 "$REPS"); do
  for side in A B; do
    srv=$A; [ $side = B ] && srv=$B
    line=$(run "$srv" "$@")
    read -r ops us tool <<<"$line"
    printf '%s rep %d: %12.0f ops/s  server core %6.3f us/op  tool CPU %3.0f%%\n' \
      "$side" "$r" "$ops" "$us" "$(awk -v t="$tool" 'BEGIN{print t*100}')"
    if [ $side = A ]; then RA+=("$line"); else RB+=("$line"); fi
  done
done
/usr/bin/python3 - "$A" "$B" "${RA[@]/#/A:}" "${RB[@]/#/B:}" <<'EOF'
import statistics, sys
a_name, b_name = sys.argv[1], sys.argv[2]
runs = {"A": [], "B": []}
for arg in sys.argv[3:]:
    side, vals = arg.split(":", 1)
    runs[side].append([float(x) for x in vals.split()])
med = {s: [statistics.median(v[i] for v in runs[s]) for i in range(3)] for s in runs}
print(f"A = {a_name}: median {med['A'][0]:,.0f} ops/s, {med['A'][1]:.3f} us/op")
print(f"B = {b_name}: median {med['B'][0]:,.0f} ops/s, {med['B'][1]:.3f} us/op")
print(f"B/A ops/s {med['B'][0] / med['A'][0]:.2f}, A/B server core per op {med['A'][1] / med['B'][1]:.2f}")
EOF
