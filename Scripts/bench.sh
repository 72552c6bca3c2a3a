#!/usr/bin/env bash
# Lookup and Enrich next to Redis, measured in one run on this machine (issues 6 and 15), with the server CPU
# each one spends per key or event.
#
# Builds release binaries and two lean C clients of the same shape (one thread, epoll, non-blocking TLS):
# Scripts/bench/redis-load.c (B pipelined HMGETs per connection in flight) and Scripts/bench/enrichd-load.c (one
# Lookup or Enrich call of B keys or events per connection in flight), generates the 1M-row, 10-column demo `products` table and
# serves it from enrichd (TLS) and from a throwaway redis-server (TLS port, same certificate, hashes loaded with
# redis-cli --pipe). Then, for each workload, the same batch and the same connections on both (one call, or one
# pipeline, in flight per connection; keys uniform over the 1M rows):
#   Lookup of 8 columns        Lookup calls of B keys             vs  B pipelined HMGET p:<key> <8 fields>
#   Enrich through a mapping   Enrich calls of B JSON events      vs  B pipelined HMGET p:<key> name price
# plus a few rows driven by enrich-load (the Swift SDK) instead, to show what that client adds.
# and reads each server's CPU time (utime + stime of /proc/PID/stat) before and after, so the table has server CPU
# per key or event next to throughput: on this shared machine throughput moves ±40 % between runs, CPU per unit of
# work far less. Last, the cache's resident bytes next to Redis's used_memory and the raw size of the data.
# Prints a Markdown report; both servers are stopped on exit.
#
# Environment: KEYS (keys or events per measurement, default 2,000,000; batch 1 rows do at most 40,000 calls),
# SECONDS_PER_RUN (cap per measurement, default 15), OUT (also write the report there), RESULTS (keep the raw
# measurements there).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh --bench
keys_per_run=${KEYS:-2000000}
cap=${SECONDS_PER_RUN:-15}
echo "building release binaries (a few minutes the first time)..." >&2
for product in enrichd enrichctl enrich-load; do
    swift build -c release --product "$product" 2>&1 | grep -E "error:|complete" | tail -1 >&2 || true
done
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/enrich-bench-XXXXXX)
cc -O2 -o "$work/redis-load" Scripts/bench/redis-load.c -lssl -lcrypto
cc -O2 -o "$work/enrichd-load" Scripts/bench/enrichd-load.c -lssl -lcrypto
cleanup() {
    [ -f "$work/enrichd.pid" ] && kill "$(cat "$work/enrichd.pid")" 2>/dev/null || true
    [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
    sleep 0.2
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_seconds() { awk '{printf "%.2f\n", ($14 + $15) / 100}' "/proc/$1/stat"; }

Scripts/gen-certs.sh "$work/certs" >/dev/null
echo "generating 1M products..." >&2
"$bin/enrichd" demo-data --warehouse "$work/data/warehouse.sqlite" --users 1000 --products 1000000 >/dev/null

token=enr_bench_owner_0123456789abcdef
metrics_port=$(free_port)
ENRICH_BOOTSTRAP_TOKEN=$token "$bin/enrichd" serve --port 0 --metrics-port "$metrics_port" --data-dir "$work/data" \
    --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" --log-level warning \
    >"$work/enrichd.out" 2>"$work/enrichd.log" &
echo $! >"$work/enrichd.pid"
enrichd_pid=$(cat "$work/enrichd.pid")
for _ in $(seq 1 100); do grep -q "listening on" "$work/enrichd.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^enrichd listening on .*:\([0-9]*\)$/\1/p' "$work/enrichd.out")
[ -n "$port" ] || { cat "$work/enrichd.log" >&2; exit 1; }
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE="$work/certs/ca.pem" ENRICH_TOKEN="$token"
"$bin/enrichctl" models create products --table products --primary-key sku >/dev/null
"$bin/enrichctl" sync trigger products --watch >/dev/null 2>&1
cat >"$work/mappings.json" <<'JSON'
{"mappings": [{"name": "viewed", "condition": "type = \"track\" and event = \"Product Viewed\"",
  "matches": [{"model": "products", "match_property": "properties.sku"}],
  "enrichments": [{"model": "products", "column": "name", "key": "properties.product_name"},
                  {"model": "products", "column": "price", "key": "properties.price"}]}]}
JSON
"$bin/enrichctl" destinations create bench --file "$work/mappings.json" >/dev/null

redis_port=$(free_port)
redis_tls=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --tls-port "$redis_tls" --tls-cert-file "$work/certs/server.pem" \
    --tls-key-file "$work/certs/server-key.pem" --tls-ca-cert-file "$work/certs/ca.pem" --tls-auth-clients no \
    --save "" --appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log" --dir "$work"
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_pid=$(cat "$work/redis.pid")
echo "loading Redis..." >&2
python3 Scripts/bench/redis_load.py "$work/data/warehouse.sqlite" 2>"$work/raw" | redis-cli -p "$redis_port" --pipe >/dev/null
read -r rows raw_bytes <"$work/raw"
[ "$(redis-cli -p "$redis_port" dbsize)" = "$rows" ] || { echo "Redis holds $(redis-cli -p "$redis_port" dbsize) keys, expected $rows" >&2; exit 1; }

columns=name,category,brand,price,in_stock,rating,weight_grams,created_at
results="$work/results"
: >"$results"
calls_for() {  # batch -> calls per measurement
    local calls=$((keys_per_run / $1))
    [ "$calls" -gt 40000 ] && calls=40000
    [ "$calls" -lt 200 ] && calls=200
    echo "$calls"
}
# run KIND BATCH CONNECTIONS: one measurement, as a line "KIND BATCH CONNECTIONS SERVER_CPU_SECONDS JSON".
run() {
    local kind=$1 batch=$2 connections=$3 calls pid json before after
    calls=$(calls_for "$batch")
    case $kind in
        lookup | lookup-sdk | enrich | enrich-sdk) pid=$enrichd_pid ;;
        *) pid=$redis_pid ;;
    esac
    before=$(cpu_seconds "$pid")
    case $kind in
        lookup)
            json=$("$work/enrichd-load" lookup 127.0.0.1 "$port" "$work/certs/ca.pem" "$token" "$connections" \
                "$batch" "$calls" "$cap" "$rows" products ${columns//,/ }) ;;
        lookup-sdk)
            json=$("$bin/enrich-load" --model products --key-format sku --key-max "$rows" --batch "$batch" \
                --columns "$columns" --requests "$calls" --concurrency "$connections" --connections "$connections" \
                --duration "$cap" --json) ;;
        enrich)
            json=$("$work/enrichd-load" enrich 127.0.0.1 "$port" "$work/certs/ca.pem" "$token" "$connections" \
                "$batch" "$calls" "$cap" "$rows" bench) ;;
        enrich-sdk)
            json=$("$bin/enrich-load" --method enrich --destination bench --key-format sku --key-max "$rows" \
                --batch "$batch" --requests "$calls" --concurrency "$connections" --connections "$connections" \
                --duration "$cap" --json) ;;
        redis-lookup)
            json=$("$work/redis-load" 127.0.0.1 "$redis_tls" "$work/certs/ca.pem" "$connections" "$batch" "$calls" \
                "$cap" "$rows" ${columns//,/ }) ;;
        redis-enrich)
            json=$("$work/redis-load" 127.0.0.1 "$redis_tls" "$work/certs/ca.pem" "$connections" "$batch" "$calls" \
                "$cap" "$rows" name price) ;;
    esac
    after=$(cpu_seconds "$pid")
    echo "$kind $batch $connections $(echo "$after - $before" | bc) $json" >>"$results"
}
# Warm both servers (first touches of the cache's pages, TLS session setup).
run lookup 100 4 >/dev/null; run redis-lookup 100 4 >/dev/null; : >"$results"
for workload in "1 1" "1 4" "10 1" "100 1" "100 4" "100 32" "1000 1" "1000 4"; do
    set -- $workload
    echo "lookup: batch $1, $2 connections..." >&2
    run lookup "$1" "$2"
    run redis-lookup "$1" "$2"
done
for workload in "1 1" "100 1"; do
    set -- $workload
    echo "lookup through the Swift SDK: batch $1, $2 connections..." >&2
    run lookup-sdk "$1" "$2"
done
echo "enrich through the Swift SDK: batch 1000, 4 connections..." >&2
run enrich-sdk 1000 4
for workload in "100 1" "100 4" "1000 1" "1000 4" "100 32"; do
    set -- $workload
    echo "enrich: batch $1, $2 connections..." >&2
    run enrich "$1" "$2"
    run redis-enrich "$1" "$2"
done

cache_bytes=$(python3 -c 'import sys, urllib.request, re; t = urllib.request.urlopen(sys.argv[1]).read().decode(); print(re.search(r"^enrich_cache_bytes\{model=\"products\"\} (\S+)", t, re.M).group(1).split(".")[0])' \
    "http://127.0.0.1:$metrics_port/metrics")
redis_memory=$(redis-cli -p "$redis_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
redis_version=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
cp "$results" "${RESULTS:-/dev/null}" 2>/dev/null || true
python3 Scripts/bench/report.py "$results" "$rows" "$raw_bytes" "$cache_bytes" "$redis_memory" "$redis_version" \
    "$(git rev-parse --short HEAD)" | tee "${OUT:-/dev/null}"
