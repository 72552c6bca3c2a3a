#!/usr/bin/env bash
# Lookup speed and memory next to Redis, measured in one run on this machine (issue 6).
#
# Builds release binaries, generates the 1M-row, 10-column demo `products` table, serves it from enrichd (TLS)
# and from a throwaway redis-server (TLS port, same certificates, hashes loaded with redis-cli --pipe), then runs
# the same workload against both on 127.0.0.1 and prints a Markdown table with ratios:
#   batch B lookups of 8 (then 4) columns  vs  redis-benchmark HMGET of the same fields, pipelined B deep,
#   and vs pgbench running SELECT <8 columns> FROM products WHERE sku = ANY(<B random SKUs>) on a throwaway
#   PostgreSQL (TLS, same certificate),
# at 1 connection and at 32 calls in flight, plus the cache's resident bytes next to Redis's used_memory and the
# raw size of the data; then Enrich of JSON events through a destination mapping (condition + two enrichments)
# next to Redis fetching the same two fields. Bounded: each measurement stops after REQUESTS calls or 20 s. Both servers are stopped
# on exit. Options (environment): REQUESTS (default 20000 calls per measurement; Redis gets the same keys, at
# most 4M), OUT (also write the table there), RESULTS (keep the raw measurements there).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh --bench
requests=${REQUESTS:-20000}
echo "building release binaries (a few minutes the first time)..." >&2
swift build -c release 2>&1 | grep -E "error|Build complete" >&2 || true
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/enrich-bench-XXXXXX)
cleanup() {
    [ -f "$work/enrichd.pid" ] && kill "$(cat "$work/enrichd.pid")" 2>/dev/null || true
    [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
    [ -n "${pg:-}" ] && Scripts/postgres.sh stop "$pg" && rm -rf "$pg"
    sleep 0.2
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

Scripts/gen-certs.sh "$work/certs" >/dev/null
echo "generating 1M products..." >&2
"$bin/enrichd" demo-data --warehouse "$work/data/warehouse.sqlite" --users 1000 --products 1000000 >/dev/null

token=enr_bench_owner_0123456789abcdef
metrics_port=$(free_port)
ENRICH_BOOTSTRAP_TOKEN=$token "$bin/enrichd" serve --port 0 --metrics-port "$metrics_port" --data-dir "$work/data" \
    --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" --log-level warning \
    >"$work/enrichd.out" 2>"$work/enrichd.log" &
echo $! >"$work/enrichd.pid"
for _ in $(seq 1 100); do grep -q "listening on" "$work/enrichd.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^enrichd listening on .*:\([0-9]*\)$/\1/p' "$work/enrichd.out")
[ -n "$port" ] || { cat "$work/enrichd.log" >&2; exit 1; }
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE="$work/certs/ca.pem" ENRICH_TOKEN="$token"
"$bin/enrichctl" models create products --table products --primary-key sku >/dev/null
"$bin/enrichctl" sync trigger products --watch >/dev/null 2>&1

redis_port=$(free_port)
redis_tls=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --tls-port "$redis_tls" --tls-cert-file "$work/certs/server.pem" \
    --tls-key-file "$work/certs/server-key.pem" --tls-ca-cert-file "$work/certs/ca.pem" --tls-auth-clients no \
    --save "" --appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log" --dir "$work"
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "loading Redis..." >&2
python3 Scripts/bench/redis_load.py "$work/data/warehouse.sqlite" 2>"$work/raw" | redis-cli -p "$redis_port" --pipe >/dev/null
read -r rows raw_bytes <"$work/raw"
[ "$(redis-cli -p "$redis_port" dbsize)" = "$rows" ] || { echo "Redis holds $(redis-cli -p "$redis_port" dbsize) keys, expected $rows" >&2; exit 1; }

echo "loading PostgreSQL..." >&2
pg=$(mktemp -d /tmp/enrich-bench-pg-XXXXXX)
# TLS with the same certificate as the others, verified against the same CA.
conninfo="$(Scripts/postgres.sh start "$pg" "$work/certs/server.pem" "$work/certs/server-key.pem") sslmode=verify-full sslrootcert=$work/certs/ca.pem"
psql -q "$conninfo" -c "CREATE TABLE products (sku text PRIMARY KEY, product_id bigint, name text, category text,
    brand text, price float8, in_stock boolean, rating float8, weight_grams bigint, created_at text)"
sqlite3 -csv "$work/data/warehouse.sqlite" "SELECT * FROM products" | psql -q "$conninfo" -c "COPY products FROM STDIN CSV"
psql -q "$conninfo" -c "VACUUM ANALYZE products"

wide=name,category,brand,price,in_stock,rating,weight_grams,created_at
narrow=name,brand,price,in_stock
columns=$wide
postgres() {  # batch clients: transactions/s x batch = keys/s; pgbench reports the average latency only
    cat >"$work/pgbench.sql" <<SQL
SELECT $columns FROM products WHERE sku = ANY (
    SELECT 'SKU-' || lpad((1 + floor(random() * 1000000))::int::text, 7, '0') FROM generate_series(1, $1));
SQL
    pgbench -n -M prepared -c "$2" -j 2 -T 5 -f "$work/pgbench.sql" "$conninfo" 2>/dev/null \
        | awk -v b="$1" '/^latency average/ {lat=$4} /^tps/ {print $3 * b, lat}'
}
ours() {  # batch concurrency connections
    "$bin/enrich-load" --server "127.0.0.1:$port" --ca-file "$work/certs/ca.pem" --token "$token" --model products \
        --key-format sku --key-max 1000000 --batch "$1" --columns "$columns" --requests "$requests" \
        --concurrency "$2" --connections "$3" --duration 20 --json
}
redis() {  # batch clients
    timeout 60 redis-benchmark --tls --cacert "$work/certs/ca.pem" -h 127.0.0.1 -p "$redis_tls" -c "$2" -P "$1" \
        -n $(( requests * $1 < 4000000 ? requests * $1 : 4000000 )) -r 1000000 --csv \
        HMGET p:__rand_int__ ${columns//,/ } | tail -1
}
results="$work/results"
: >"$results"
for columns in "$wide" "$narrow"; do
    width=$(tr ',' '\n' <<<"$columns" | wc -l)
    for batch in 1 10 100 1000; do
        for setup in "1 1" "32 4"; do
            set -- $setup
            # redis-benchmark's clients each keep one pipeline in flight: 32 clients match 32 calls in flight.
            echo "lookup of $width columns, batch $batch, $1 in flight..." >&2
            echo "ours $batch $1 $width $(ours "$batch" "$1" "$2")" >>"$results"
            echo "redis $batch $1 $width $(redis "$batch" "$1")" >>"$results"
            echo "postgres $batch $1 $width $(postgres "$batch" "$1")" >>"$results"
        done
    done
done
# Enrich: JSON track events through a destination mapping with an FQL condition and two enrichments from
# products (name, price), next to Redis fetching the same two fields per event (HMGET, pipelined B deep).
cat >"$work/mappings.json" <<'JSON'
{"mappings": [{"name": "viewed", "condition": "type = \"track\" and event = \"Product Viewed\"",
  "matches": [{"model": "products", "match_property": "properties.sku"}],
  "enrichments": [{"model": "products", "column": "name", "key": "properties.product_name"},
                  {"model": "products", "column": "price", "key": "properties.price"}]}]}
JSON
"$bin/enrichctl" destinations create bench --file "$work/mappings.json" >/dev/null
enrich() {  # batch concurrency connections
    "$bin/enrich-load" --server "127.0.0.1:$port" --ca-file "$work/certs/ca.pem" --token "$token" --method enrich \
        --destination bench --key-format sku --key-max 1000000 --batch "$1" --requests "$requests" \
        --concurrency "$2" --connections "$3" --duration 20 --json
}
redis2() {  # batch clients: the two enriched fields
    timeout 60 redis-benchmark --tls --cacert "$work/certs/ca.pem" -h 127.0.0.1 -p "$redis_tls" -c "$2" -P "$1" \
        -n $(( requests * $1 < 4000000 ? requests * $1 : 4000000 )) -r 1000000 --csv HMGET p:__rand_int__ name price | tail -1
}
for setup in "100 1 1" "100 32 4" "1000 32 4"; do
    set -- $setup
    echo "enrich batch $1, $2 in flight..." >&2
    echo "enrich $1 $2 $(enrich "$1" "$2" "$3")" >>"$results"
    echo "redis2 $1 $2 $(redis2 "$1" "$2")" >>"$results"
done

cache_bytes=$(python3 -c 'import sys, urllib.request, re; t = urllib.request.urlopen(sys.argv[1]).read().decode(); print(re.search(r"^enrich_cache_bytes\{model=\"products\"\} (\S+)", t, re.M).group(1).split(".")[0])' \
    "http://127.0.0.1:$metrics_port/metrics")
redis_memory=$(redis-cli -p "$redis_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
cp "$results" "${RESULTS:-/dev/null}" 2>/dev/null || true
python3 Scripts/bench/report.py "$results" "$rows" "$raw_bytes" "$cache_bytes" "$redis_memory" | tee "${OUT:-/dev/null}"
