#!/usr/bin/env bash
# bench/run.sh - every scenario against every server, side by side.
#
#   bash bench/run.sh            the full run (~25 minutes): 3 repetitions
#   bash bench/run.sh --quick    smaller sizes, 1 repetition (~3 minutes)
#   options: --reps N  --servers "sio-c node python raw"  --no-commit  --out DIR
#            --deadline S  (runs not started within S seconds are skipped and
#            recorded as such; the report is written anyway; default 3000, quick 600)
#
# Servers: sio-c (tests/helpers/sio_test_server, Release), node (bench/peers/node-server.mjs,
# socket.io 4), python (bench/peers/python_server.py, python-socketio 5 + aiohttp)
# and raw (tests/helpers/ws_echo_server.c --broadcast: the WebSocket layer alone,
# the ceiling). Each run gets a fresh server pinned to CPU 0 (taskset) and the
# tool (build/bench/bin/sio-bench) pinned to CPU 1; servers are started and
# stopped by PID. Every sio-bench call is bounded by `timeout`.
#
# Writes bench/results/<date>.json (every run, medians, min-max, target ratios,
# the machine), bench/results/latest.md (tables) and bench/results/latest.png
# (chart, gnuplot), and commits them unless --no-commit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0 REPS="" COMMIT=1 DEADLINE_S="" SERVERS="node python raw sio-c" OUT=bench/results
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --reps) REPS=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --no-commit) COMMIT=0 ;;
    --out) OUT=$2; shift ;;
    --deadline) DEADLINE_S=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done

# ---- sizes ------------------------------------------------------------------------
if [ $QUICK = 1 ]; then
  : "${REPS:=1}" "${DEADLINE_S:=600}"
  CONNECT_N=2000 ECHO_D=3 BCAST_D=2 IDLE_D=1 CHURN_D=3 WARM=0.5
else
  : "${REPS:=3}" "${DEADLINE_S:=3000}"
  CONNECT_N=10000 ECHO_D=10 BCAST_D=5 IDLE_D=3 CHURN_D=8 WARM=1
fi
ECHO_C=100 ECHO_W=10 PAYLOAD=100 CONCURRENCY=200
BCAST_S=4 BCAST_W=2
IDLE_SIZES="10000 19900"
CHURN_C=50

# ---- what the run needs --------------------------------------------------------------
need_apt=()
for p in python3-socketio python3-aiohttp gnuplot-nox; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "run.sh: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
if [ ! -d node_modules/socket.io ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DSIO_TESTS=ON >/dev/null
cmake --build build/bench -j2 --target sio-bench sio-test-server ws-echo-server >/dev/null
BIN=$ROOT/build/bench/bin
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "run.sh: open-file limit $(ulimit -n) per process; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$(nproc)" -lt 2 ]; then echo "run.sh: needs 2 CPUs (server on 0, tool on 1)" >&2; exit 1; fi

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
WORK=$(mktemp -d /tmp/sio-bench-run.XXXXXX)
RAWLOG=$WORK/runs.jsonl
: > "$RAWLOG"
LOAD_BEFORE=$(cat /proc/loadavg)
SERVER_PID=""
trap 'stop_server; rm -rf "$WORK"' EXIT

# ---- servers --------------------------------------------------------------------------
RUN_NO=0
start_server() { # name -> SERVER_PID, SERVER_PORT
  RUN_NO=$((RUN_NO + 1))
  local name=$1 log=$WORK/server-$1-$RUN_NO.log
  : > "$log"
  case $name in
    sio-c) taskset -c 0 "$BIN/sio-test-server" --port 0 --ping-interval 25000 --ping-timeout 20000 \
             --connect-timeout 45000 >"$log" 2>&1 & ;;
    node) taskset -c 0 node bench/peers/node-server.mjs --port 0 >"$log" 2>&1 & ;;
    python) taskset -c 0 /usr/bin/python3 bench/peers/python_server.py --port 0 >"$log" 2>&1 & ;;
    raw) taskset -c 0 "$BIN/ws-echo-server" --port 0 --broadcast >"$log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  SERVER_PORT=""
  for _ in $(seq 1 300); do # 30 s at most
    SERVER_PORT=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$SERVER_PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$SERVER_PORT" ]; then
    echo "run.sh: $name did not start:" >&2; cat "$log" >&2
    stop_server; return 1
  fi
  sleep 0.3 # let it settle (node's and python's RSS after start-up)
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# bench CASE REP SERVER LIMIT_SECONDS sio-bench-args...  (fresh server, one JSON line kept)
bench() {
  local case=$1 rep=$2 server=$3 limit=$4; shift 4
  local mode=()
  if [ "$(date +%s)" -ge "$DEADLINE" ]; then
    echo "{\"case\":\"$case\",\"rep\":$rep,\"server\":\"$server\",\"run\":null,\"why\":\"skipped: run.sh deadline\"}" >> "$RAWLOG"
    printf '%-8s %-12s rep %d ... skipped (deadline)\n' "$server" "$case" "$rep"
    return 0
  fi
  [ "$server" = raw ] && mode=(--raw)
  if ! start_server "$server"; then
    echo "{\"case\":\"$case\",\"rep\":$rep,\"server\":\"$server\",\"run\":null,\"why\":\"server did not start\"}" >> "$RAWLOG"
    return 0
  fi
  local out=$WORK/out.json err=$WORK/err.txt
  : > "$out"
  printf '%-8s %-12s rep %d ... ' "$server" "$case" "$rep"
  timeout -k 5 "$limit" taskset -c 1 "$BIN/sio-bench" "$@" "${mode[@]}" --port "$SERVER_PORT" \
    --server-pid "$SERVER_PID" --server-cpu 0 --label "$server" --progress 0 >"$out" 2>"$err" || true
  stop_server
  local line
  line=$(grep '^{' "$out" | tail -1 || true)
  if [ -n "$line" ]; then
    echo "{\"case\":\"$case\",\"rep\":$rep,\"server\":\"$server\",\"run\":$line}" >> "$RAWLOG"
    grep -E '/s|bytes per|RSS|WARNING' "$err" | grep -v '^sio-bench' | head -2 | tr '\n' ' '; echo
  else
    echo "{\"case\":\"$case\",\"rep\":$rep,\"server\":\"$server\",\"run\":null,\"why\":\"no result (timeout?)\"}" >> "$RAWLOG"
    echo "no result"; tail -3 "$err"
  fi
}

field() { # the last run's field of CASE/REP/SERVER
  /usr/bin/python3 - "$RAWLOG" "$1" "$2" "$3" "$4" <<'EOF'
import json, sys
path, case, rep, server, key = sys.argv[1:]
val = 0
for line in open(path):
    r = json.loads(line)
    if r["case"] == case and str(r["rep"]) == rep and r["server"] == server and r["run"]:
        val = r["run"].get(key, 0)
print(val)
EOF
}

# ---- the tool's own ceiling: raw echo with deep pipelines --------------------------------------
T_START=$(date +%s)
DEADLINE=$((T_START + DEADLINE_S))
echo "== the tool's ceiling (raw echo server, 100 connections x 200 in flight, 16-byte payload)"
for rep in $(seq 1 "$REPS"); do
  bench tool-ceiling "$rep" raw 60 echo -n 100 -w 200 --payload 16 -d "$ECHO_D" --warmup "$WARM"
done

# ---- every scenario against every server -------------------------------------------------------
for rep in $(seq 1 "$REPS"); do
  echo "== repetition $rep of $REPS"
  for server in $SERVERS; do
    bench connect "$rep" "$server" 240 connect -n "$CONNECT_N" -c "$CONCURRENCY" --timeout 180
    bench echo "$rep" "$server" 120 echo -n "$ECHO_C" -w "$ECHO_W" --payload "$PAYLOAD" -d "$ECHO_D" --warmup "$WARM"
    if [ "$server" = node ] || [ "$server" = sio-c ]; then
      # p99 at half of Node's peak (Node's echo of this repetition)
      half=$(field echo "$rep" node ops_per_s | awk '{printf "%d", $1 / 2}')
      if [ "${half:-0}" -gt 0 ]; then
        bench echo-half-node "$rep" "$server" 120 echo -n "$ECHO_C" -w "$ECHO_W" --payload "$PAYLOAD" \
          -d "$ECHO_D" --warmup "$WARM" --rate "$half"
      fi
    fi
    bench broadcast-1k "$rep" "$server" 180 broadcast -n 1000 -s "$BCAST_S" -w "$BCAST_W" \
      --payload "$PAYLOAD" -d "$BCAST_D" --warmup "$WARM" --bcast-timeout 30 --timeout 120
    bench broadcast-10k "$rep" "$server" 300 broadcast -n 10000 -s "$BCAST_S" -w "$BCAST_W" \
      --payload "$PAYLOAD" -d "$BCAST_D" --warmup "$WARM" --bcast-timeout 30 --timeout 180 -c "$CONCURRENCY"
    for n in $IDLE_SIZES; do
      bench "idle-$((n / 1000))k" "$rep" "$server" 300 idle -n "$n" -c "$CONCURRENCY" -d "$IDLE_D" --timeout 180
    done
    bench churn "$rep" "$server" 120 churn -c "$CHURN_C" -d "$CHURN_D" --warmup "$WARM"
  done
done
T_END=$(date +%s)
LOAD_AFTER=$(cat /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------------
mkdir -p "$OUT"
MODE=full; [ $QUICK = 1 ] && MODE=quick
/usr/bin/python3 bench/report.py --runs "$RAWLOG" --date "$DATE" --mode "$MODE" --reps "$REPS" \
  --seconds $((T_END - T_START)) --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" \
  --json "$OUT/$DATE.json" --md "$OUT/latest.md" --plot "$WORK/plot"
if command -v gnuplot >/dev/null; then
  gnuplot -e "datadir='$WORK/plot'; out='$OUT/latest.png'" bench/chart.gp || echo "run.sh: gnuplot failed" >&2
fi
cat "$OUT/latest.md"
if [ $COMMIT = 1 ] && git rev-parse --git-dir >/dev/null 2>&1; then
  git add "$OUT/$DATE.json" "$OUT/latest.md"
  [ -f "$OUT/latest.png" ] && git add "$OUT/latest.png"
  git commit -q -m "bench: results of $DATE ($MODE run, $REPS repetition(s))" -- "$OUT" && \
    echo "run.sh: committed $OUT/$DATE.json, latest.md, latest.png"
fi
