#!/usr/bin/env bash
# Call benchmark with media and CDRs: SIPp places calls with RTP (g711a.pcap replayed, 20 ms PCMA) to the echo route
# while every CDR goes to the real PostgreSQL (a fresh database, dropped afterwards). Driven by scripts/load.ts.
#   1. highest calls/s with zero failures (short calls with RTP, stepping the rate);
#   2. INVITE->200 p50/p99 at 100 calls/s;
#   3. largest number of concurrent calls held for 60 s with < 0.1 % RTP loss, and resident memory per call.
#
#   npm run bench:calls                                  # defaults below
#   RATES="100 300 500 800" CONCURRENT="500 1000 1500" npm run bench:calls
# Each rate step also reports the database transactions per call (pg_stat_database.xact_commit of the bench database:
# CDR writes plus routing reads) and the server's CPU time per call. The flood ban is off: every call comes from the
# one SIPp source. The server runs compiled (npm run build), as deployed.
# Env: BENCH_PG_URL (postgresql://postgres@127.0.0.1:5432/postgres: where the bench database is created),
#      STEP_S (10), HOLD_S (60), SIP_BENCH_PORT (26060), API_BENCH_PORT (28060), FROM_SOURCE (0).
set -u
cd "$(dirname "$0")/.."
RATES=${RATES:-"100 200 300 500 700 1000"}
CONCURRENT=${CONCURRENT:-"250 500 1000"}
STEP_S=${STEP_S:-10}
HOLD_S=${HOLD_S:-60}
PORT=${SIP_BENCH_PORT:-26060}
API=${API_BENCH_PORT:-28060}
ADMIN_URL=${BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
DB="bench_calls_$$"
SCRATCH=$(mktemp -d /tmp/bench-calls-XXXXXX)
SERVER_PID=""

command -v sipp >/dev/null || { echo "sipp not found (apt-get install sip-tester)" >&2; exit 2; }
command -v psql >/dev/null || { echo "psql not found (the benchmark writes CDRs to a real PostgreSQL)" >&2; exit 2; }

cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"; for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
  rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null || { echo "cannot create database $DB at $ADMIN_URL" >&2; exit 2; }
DB_URL="${ADMIN_URL%/*}/$DB"

rss_mb() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Committed transactions of the bench database (each autocommit statement is one); statistics are flushed lazily,
# so read them after a pause.
xacts() { sleep 1.5; psql "$DB_URL" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()" 2>/dev/null || echo 0; }
# "<db transactions per call> <server CPU ms per call>" since the given marks.
per_call() { awk -v x0="$1" -v x1="$2" -v t0="$3" -v t1="$4" -v n="$5" 'BEGIN{ if (n > 0) printf "%.1f %.2f", (x1-x0)/n, (t1-t0)*10/n; else printf "NA NA" }'; }
field() { node -e "const o=JSON.parse(require('fs').readFileSync(0,'utf8').trim().split('\n').pop()); const v=o['$1']; process.stdout.write(v===null||v===undefined?'NA':typeof v==='object'?JSON.stringify(v):String(v))"; }
# SIPp's failure counters that moved, when calls failed (503 from overload control shows as FailedUnexpectedMessage).
why() { [[ $1 == 0 || $1 == NA ]] || printf ' %s' "$2"; }

# The server runs as deployed (compiled JavaScript, as in the Dockerfile): running from source would add the
# TypeScript compiler (~50 MB) to the resident memory measured below. FROM_SOURCE=1 skips the build.
ENTRY=(dist/main.js)
if [[ ${FROM_SOURCE:-0} == 1 ]] || ! npm run -s build >"$SCRATCH/build.log" 2>&1; then
  [[ ${FROM_SOURCE:-0} == 1 ]] || echo "(build failed, running from source: RSS includes the TypeScript compiler)" >&2
  ENTRY=(--require ./bench/register.js src/main.ts)
fi
DATABASE_URL=$DB_URL DATABASE_POOL_MAX=20 DEFAULT_ROUTE=echo OPEN_INBOUND=true SIP_FLOOD_MAX_REQUESTS=0 SIP_PORT=$PORT API_PORT=$API SIP_TRANSPORTS=udp \
  SIP_BIND_ADDRESS=127.0.0.1 SIP_PUBLIC_ADDRESS=127.0.0.1 API_BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn \
  DATA_DIR="$SCRATCH/data" RTP_PORT_MIN=20000 RTP_PORT_MAX=39998 INSTANCE_ID=bench-calls \
  node --max-old-space-size=1024 "${ENTRY[@]}" >"$SCRATCH/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$API/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$API/health" >/dev/null || { echo "server did not start:" >&2; cat "$SCRATCH/server.log" >&2; exit 1; }
BASE_RSS=$(rss_mb "$SERVER_PID")
LOAD="node --require ./bench/register.js scripts/load.ts --target 127.0.0.1:$PORT --number 1000 --metrics http://127.0.0.1:$API/metrics --json"

echo "1. call rate sweep (${STEP_S} s per step, 2 s calls with RTP)"
BEST=0
for r in $RATES; do
  x0=$(xacts); t0=$(ticks "$SERVER_PID")
  out=$($LOAD --calls $((r * STEP_S)) --rate "$r" --duration 2 2>/dev/null)
  t1=$(ticks "$SERVER_PID"); x1=$(xacts)
  ok=$(echo "$out" | field ok); failed=$(echo "$out" | field failed)
  read -r XPC CPC <<<"$(per_call "$x0" "$x1" "$t0" "$t1" "$((r * STEP_S))")"
  printf '   %6s calls/s: ok %s failed %s%s p50 %s ms p99 %s ms, %s db transactions/call, server CPU %s ms/call\n' \
    "$r" "$ok" "$failed" "$(why "$failed" "$(echo "$out" | field failures)")" "$(echo "$out" | field setupP50Ms)" "$(echo "$out" | field setupP99Ms)" "$XPC" "$CPC"
  if [[ $failed == 0 && $ok == $((r * STEP_S)) ]]; then BEST=$r; else break; fi
done

echo "2. setup time at 100 calls/s"
x0=$(xacts); t0=$(ticks "$SERVER_PID")
out=$($LOAD --calls $((100 * STEP_S)) --rate 100 --duration 2 2>/dev/null)
t1=$(ticks "$SERVER_PID"); x1=$(xacts)
P50=$(echo "$out" | field setupP50Ms); P99=$(echo "$out" | field setupP99Ms)
read -r XPC CPC <<<"$(per_call "$x0" "$x1" "$t0" "$t1" "$((100 * STEP_S))")"
printf '   ok %s failed %s p50 %s ms p99 %s ms, %s db transactions/call, server CPU %s ms/call\n' \
  "$(echo "$out" | field ok)" "$(echo "$out" | field failed)" "$P50" "$P99" "$XPC" "$CPC"

echo "3. concurrent calls held ${HOLD_S} s"
BEST_CONC=0; BEST_LOSS=NA; RSS_PER_CALL=NA
for n in $CONCURRENT; do
  dur=$((HOLD_S + n / 100 + 1))
  ($LOAD --calls "$n" --rate 100 --duration "$dur" >"$SCRATCH/conc.json" 2>/dev/null) &
  LOADER=$!
  sleep $((n / 100 + HOLD_S / 2))
  peak=$(rss_mb "$SERVER_PID")
  wait $LOADER
  ok=$(field ok <"$SCRATCH/conc.json"); failed=$(field failed <"$SCRATCH/conc.json"); loss=$(field rtpLossPct <"$SCRATCH/conc.json")
  per=$(awk -v p="$peak" -v b="$BASE_RSS" -v n="$n" 'BEGIN{printf "%.2f", (p-b)*1024/n}')
  printf '   %6s calls: ok %s failed %s%s, RTP loss %s%%, RSS %s MB (%s KB/call)\n' "$n" "$ok" "$failed" "$(why "$failed" "$(field failures <"$SCRATCH/conc.json")")" "$loss" "$peak" "$per"
  if [[ $failed == 0 && $ok == "$n" && $loss != NA ]] && awk -v l="$loss" 'BEGIN{exit !(l < 0.1)}'; then
    BEST_CONC=$n; BEST_LOSS=$loss; RSS_PER_CALL=$per; PEAK_RSS=$peak
  else break; fi
done

echo
printf '| %-52s | %-16s |\n' "metric (echo route, CDRs in PostgreSQL, SIPp on the same host)" "result"
printf '|%s|%s|\n' "------------------------------------------------------" "------------------"
printf '| %-52s | %-16s |\n' "highest calls/s with zero failures" "$BEST"
printf '| %-52s | %-16s |\n' "INVITE->200 p50 / p99 at 100 calls/s (ms)" "$P50 / $P99"
printf '| %-52s | %-16s |\n' "database transactions per call (CDR + routing)" "$XPC"
printf '| %-52s | %-16s |\n' "concurrent calls held ${HOLD_S} s with < 0.1% RTP loss" "$BEST_CONC (loss $BEST_LOSS%)"
printf '| %-52s | %-16s |\n' "resident memory at that load (MB), per call (KB)" "${PEAK_RSS:-NA} / $RSS_PER_CALL"
printf '| %-52s | %-16s |\n' "resident memory idle after start (MB)" "$BASE_RSS"
