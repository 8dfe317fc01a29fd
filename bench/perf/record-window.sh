#!/bin/sh
# Where the CPU goes during a bench window, every process of the machine, kernel included:
#   sh bench/perf/record-window.sh OUT_DIR [seconds] -- <bench scenario and options>
# e.g. sh bench/perf/record-window.sh out/perf 12 -- two-nodes --clients 200 --files 50 --users 100 --warmup 8
#
# The bench and the nodes it spawns run with --perf-prof (NODE_OPTIONS reaches the nodes), which
# writes a jitdump per process; `perf record -k 1 -a -g` samples the whole machine for SECONDS once
# the clients are connected and the warm-up is over, and `perf inject --jit` names the JIT frames.
# Unlike --cpu-prof, whose samples are wall time (a thread waiting for a core is charged to
# whatever it last ran), these samples are CPU only, and the kernel's share is visible.
# Then, for example:
#   perf report -i OUT_DIR/perf.data.jit --no-children --sort pid -g none --stdio     # CPU per process
#   perf report -i OUT_DIR/perf.data.jit --children --pid PID --sort sym -g none --stdio   # inclusive, one process
# Needs root (or perf_event_paranoid <= -1) and Debian's linux-perf.
set -eu
out=$1; shift
secs=12
if [ "${1:-}" != "--" ]; then secs=$1; shift; fi
[ "${1:-}" = "--" ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/jit-*.dump "$out"/jitted-*.so "$out"/perf.data "$out"/perf.data.jit
log="$out/bench.log"
# jitdumps are written to the working directory of each process.
(cd "$out" && NODE_OPTIONS="${NODE_OPTIONS:-} --perf-prof" node "$root/bench/dist/cli.js" "$@" >"$log" 2>&1) &
bench=$!
while ! grep -qE '^  (connected|opened|joined)' "$log" 2>/dev/null; do
  kill -0 "$bench" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
warmup=$(echo "$*" | sed -n 's/.*--warmup[ =]\([0-9.]*\).*/\1/p')
sleep "$(awk "BEGIN { print ${warmup:-3} + 1 }")"
perf record -k 1 -a -g -F 499 -o "$out/perf.data" -- sleep "$secs" >/dev/null 2>&1
wait "$bench" || true
perf inject --jit -i "$out/perf.data" -o "$out/perf.data.jit" >/dev/null 2>&1
grep -E '^(servers|BENCH_RESULT)' "$log" | cut -c1-300
echo "perf data: $out/perf.data.jit"
