#!/bin/sh
# The commit-path experiments of docs/benchmarks.md: today's 7-statement commit transaction against
# one statement and against batches, serial (one pgbench client, like one hot file), on a scratch
# database that is dropped at the end. Prints, per script, 5 runs' average latency (ms per
# transaction) and their median.
#   sh bench/pgbench/run.sh [postgres://postgres@127.0.0.1:5432]   (RUNS=5 SECONDS_PER_RUN=3)
set -eu
BASE=${1:-postgres://postgres@127.0.0.1:5432}
RUNS=${RUNS:-5}
SECS=${SECONDS_PER_RUN:-3}
DIR=$(dirname "$0")
DB=bench_pgb_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
psql -q "$BASE/postgres" -c "CREATE DATABASE $DB"
trap 'psql -q "$BASE/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
psql -q "$BASE/$DB" -f "$DIR/schema.sql"
for s in a-current b-one-statement f-cte-batch1 c-batch10 f-cte-batch5 f-cte-batch10 f-cte-batch50 e-select1; do
  vals=""
  i=0
  while [ $i -lt "$RUNS" ]; do
    v=$(pgbench -n -c 1 -T "$SECS" -f "$DIR/$s.sql" "$BASE/$DB" 2>&1 | awk '/latency average/ {print $4}')
    vals="$vals $v"
    i=$((i + 1))
  done
  median=$(echo $vals | tr ' ' '\n' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  echo "$s:$vals (median $median ms; load $(cut -d' ' -f1 /proc/loadavg))"
done
