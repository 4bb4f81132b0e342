#!/usr/bin/env bash
# Call-rate benchmark: SIPp's built-in `uac` (INVITE/100/180/200/ACK/BYE/200) against the server's answer route over
# UDP, stepping the offered rate. Same method and pass criteria as ../shared/bench-anchors/sip-run.sh, so the figures
# sit beside Kamailio's from the same run:
#   a step passes when SIPp exits 0 with 0 failed calls, 0 unexpected messages, 0 retransmissions and at least 95 % of
#   the offered rate achieved. INVITE->200 response times come from SIPp (-trace_rtt, 1 ms resolution).
#
#   npm run bench:cps                       # default steps
#   npm run bench:cps -- "1000 2000 3000" 3 # rates, repeats per rate
#   ANCHORS=1 npm run bench:cps             # also run the Kamailio anchor (needs `kamailio`, see shared/bench-anchors)
# Before the first step, WARMUP_CALLS (2000) calls at WARMUP_RATE (500/s) warm the JIT and the database (not counted):
# a cold Node.js process at 2,000+ calls/s falls behind in its first second and may never catch up.
# Each step also prints the server's CPU time per call (all threads, and the main thread alone): unlike the achieved
# rate, that figure barely moves when other jobs load the machine.
# Env: SECONDS_PER_STEP (10), SIP_BENCH_PORT (25060), API_BENCH_PORT (28000), RTP_BENCH_PORT_MIN/MAX (30000/39998),
# WARMUP_CALLS, WARMUP_RATE, DATABASE_URL (else embedded PGlite in a temp dir).
set -u
cd "$(dirname "$0")/.."
RATES=${1:-"1000 2000 3000 4000 5000"}
REPEATS=${2:-1}
STEP_S=${SECONDS_PER_STEP:-10}
PORT=${SIP_BENCH_PORT:-25060}
API=${API_BENCH_PORT:-28000}
SCRATCH=$(mktemp -d /tmp/bench-cps-XXXXXX)
SERVER_PID=""

cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"; for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

command -v sipp >/dev/null || { echo "sipp not found (apt-get install sip-tester)" >&2; exit 2; }
npm run -s build || exit 2

ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU ticks of the main thread alone (its task id is the pid): the event loop that SIP, media and call control share.
main_ticks() { awk '{print $14+$15}' "/proc/$1/task/$1/stat" 2>/dev/null || echo 0; }
rss_mb() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null; }
# Wait (at most 60 s) until the server has digested the step (under 20 % of a core for a second), so a step that fell
# behind does not load the next one with its leftovers (calls still ending, CDRs still being written).
settle() {
  sleep 2
  for _ in $(seq 1 60); do
    local a b; a=$(ticks "$SERVER_PID"); sleep 1; b=$(ticks "$SERVER_PID")
    (( b - a < 20 )) && return
  done
}
# INVITEs refused with 503 for overload since start (sum over methods of sip_overload_rejected_total).
rejected() { curl -s "http://127.0.0.1:$API/metrics" 2>/dev/null | awk '/^sip_overload_rejected_total\{method="INVITE"/{s+=$2} END{printf "%d", s}'; }
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END{ if(NR==0){print "NA";exit} i=int((p/100)*NR+0.5); if(i<1)i=1; if(i>NR)i=NR; print a[i]}'; }

DEFAULT_ROUTE=answer OPEN_INBOUND=true SIP_PORT=$PORT API_PORT=$API SIP_BIND_ADDRESS=127.0.0.1 SIP_PUBLIC_ADDRESS=127.0.0.1 \
  API_BIND_ADDRESS=127.0.0.1 SIP_TRANSPORTS=udp LOG_LEVEL=warn DATA_DIR="$SCRATCH/data" SIP_FLOOD_MAX_REQUESTS=0 \
  RTP_PORT_MIN=${RTP_BENCH_PORT_MIN:-30000} RTP_PORT_MAX=${RTP_BENCH_PORT_MAX:-39998} \
  node dist/main.js >"$SCRATCH/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$API/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$API/health" >/dev/null || { echo "server did not start:"; cat "$SCRATCH/server.log"; exit 3; }

echo "# bench:cps $(date -Is) node $(node -v) $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1) cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
WARMUP_CALLS=${WARMUP_CALLS:-2000}
if (( WARMUP_CALLS > 0 )); then
  mkdir -p "$SCRATCH/warmup"
  ( cd "$SCRATCH/warmup" && timeout -k 5 $(( WARMUP_CALLS / ${WARMUP_RATE:-500} + 60 )) sipp -sn uac "127.0.0.1:$PORT" -i 127.0.0.1 -p $(( PORT + 999 )) -nostdin \
      -r "${WARMUP_RATE:-500}" -m "$WARMUP_CALLS" -buff_size 4194304 -timeout 60s >sipp.out 2>&1 )
  echo "# warm-up: $WARMUP_CALLS calls at ${WARMUP_RATE:-500}/s (exit $?)"
  settle
fi
best=0
for rate in $RATES; do
  pass=0
  for rep in $(seq 1 "$REPEATS"); do
    calls=$(( rate * STEP_S ))
    dir="$SCRATCH/r$rate-$rep"; mkdir -p "$dir"
    t0=$(ticks "$SERVER_PID"); m0=$(main_ticks "$SERVER_PID"); o0=$(rejected); w0=$(date +%s.%N)
    ( cd "$dir" && timeout -k 5 $(( STEP_S + 90 )) sipp -sn uac "127.0.0.1:$PORT" -i 127.0.0.1 -p $(( PORT + 1000 + rep )) -nostdin \
        -r "$rate" -m "$calls" -buff_size 4194304 -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
        -trace_err -error_file err.log -timeout "$(( STEP_S + 60 ))s" -timeout_error >sipp.out 2>&1 )
    rc=$?
    w1=$(date +%s.%N); t1=$(ticks "$SERVER_PID"); m1=$(main_ticks "$SERVER_PID"); o1=$(rejected)
    last() { awk -F';' -v f="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==f) c=i; next} {v=$c} END{print v+0}' "$dir/stat.csv"; }
    succ=$(last 'SuccessfulCall(C)'); fail=$(last 'FailedCall(C)'); retr=$(last 'Retransmissions(C)'); unexp=$(last 'FailedUnexpectedMessage(C)')
    rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
    if [[ -n $rtt ]]; then awk -F';' 'NR>1 && $2!="" {print $2}' "$rtt" >"$dir/rtt.txt"; p50=$(pct "$dir/rtt.txt" 50); p99=$(pct "$dir/rtt.txt" 99); else p50=NA; p99=NA; fi
    wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN{printf "%.2f", b-a}')
    ach=$(awk -v n="$succ" -v w="$wall" 'BEGIN{printf "%.0f", n/w}')
    cpu=$(awk -v t=$(( t1 - t0 )) -v w="$wall" 'BEGIN{printf "%.0f", (t/100)/w*100}')
    # CPU time per call (all threads / main thread only): unlike the rate, it barely moves with other load.
    cpc=$(awk -v t=$(( t1 - t0 )) -v n="$succ" 'BEGIN{ if (n > 0) printf "%.3f", t*10/n; else print "NA" }')
    mpc=$(awk -v t=$(( m1 - m0 )) -v n="$succ" 'BEGIN{ if (n > 0) printf "%.3f", t*10/n; else print "NA" }')
    ok=0
    if [[ $rc == 0 && $fail == 0 && $unexp == 0 && $retr == 0 ]] && awk -v a="$ach" -v r="$rate" 'BEGIN{exit !(a >= 0.95*r)}'; then ok=1; pass=$(( pass + 1 )); fi
    echo "rate=$rate calls=$calls ok=$ok rc=$rc succ=$succ fail=$fail unexp=$unexp retrans=$retr overload_503=$(( o1 - o0 )) wall_s=$wall achieved_cps=$ach rtt_p50_ms=$p50 rtt_p99_ms=$p99 server_cpu=$cpu% cpu_ms_per_call=$cpc main_thread_ms_per_call=$mpc server_rss_mb=$(rss_mb "$SERVER_PID") load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
    settle
  done
  if [[ $pass == "$REPEATS" ]]; then best=$rate; fi
done
echo "SUMMARY highest_clean_rate=$best (all $REPEATS repeat(s) clean) steps=\"$RATES\""

if [[ ${ANCHORS:-0} == 1 ]]; then
  anchors="${ANCHORS_DIR:-$(cd .. && pwd)/shared/bench-anchors}"
  if command -v kamailio >/dev/null && [[ -x $anchors/sip-run.sh || -f $anchors/sip-run.sh ]]; then
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
    echo "# Kamailio anchor (children=1), same machine, same run"
    for rate in ${ANCHOR_RATES:-5000 6000}; do KAM_CHILDREN=1 PROXY_PORT=${PROXY_PORT:-5090} bash "$anchors/sip-run.sh" kamailio "$rate"; done
  else
    echo "# ANCHORS=1 but kamailio or $anchors/sip-run.sh is missing (run shared/bench-anchors/setup.sh)"
  fi
fi
