#!/usr/bin/env bash
# The newcomer's demo, from a fresh clone: installs what is missing, builds, makes development certificates and
# the demo warehouse (users: 100k rows, products: 1M rows), starts enrichd over TLS on 127.0.0.1:7443, syncs both
# models into the cache, then shows a lookup and an enriched event. The server keeps running afterwards.
#
# Environment: PORT (default 7443), CONFIG (release or debug; default release), PRODUCTS and USERS (row counts).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-7443}
config=${CONFIG:-release}

Scripts/install-deps.sh
echo "==> building ($config; the first build takes a few minutes)"
# Only the three programs the demo runs, not the test-support targets: the Swift 6.3.1 compiler crashes (signal 11)
# compiling Tests/RPCTesting's CapturingLogHandler.swift with -c release, and the demo needs none of them.
for product in enrichd enrichctl enrich-load; do
    swift build -c "$config" --product "$product" 2>&1 | grep -E "error|warning: |Build of product" | grep -v "^\[" \
        | tail -3 || true
done
bin=$(swift build -c "$config" --show-bin-path)
[ -x "$bin/enrichd" ] || { echo "build failed"; exit 1; }

echo "==> development certificates (certs/)"
Scripts/gen-certs.sh certs
mkdir -p data
if [ ! -f data/warehouse.sqlite ]; then
    echo "==> demo warehouse (data/warehouse.sqlite)"
    "$bin/enrichd" demo-data --warehouse data/warehouse.sqlite --users "${USERS:-100000}" --products "${PRODUCTS:-1000000}"
fi

if [ -f data/enrichd.pid ] && kill -0 "$(cat data/enrichd.pid)" 2>/dev/null; then
    echo "==> stopping the previous demo server"
    kill "$(cat data/enrichd.pid)"
    sleep 1
fi
echo "==> starting enrichd on 127.0.0.1:$port (log: data/enrichd.log)"
"$bin/enrichd" serve --port "$port" --data-dir data --tls-cert certs/server.pem --tls-key certs/server-key.pem \
    >data/enrichd.out 2>data/enrichd.log &
echo $! > data/enrichd.pid
for _ in $(seq 1 100); do
    grep -q "listening on" data/enrichd.out 2>/dev/null && break
    kill -0 "$(cat data/enrichd.pid)" 2>/dev/null || { cat data/enrichd.out data/enrichd.log; exit 1; }
    sleep 0.1
done

# The first start wrote an owner token to data/owner.token; enrichctl reads it through ENRICH_TOKEN_FILE.
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE=certs/ca.pem ENRICH_TOKEN_FILE=data/owner.token
ctl="$bin/enrichctl"
"$ctl" models get users >/dev/null 2>&1 || "$ctl" models create users --table users --primary-key id >/dev/null
"$ctl" models get products >/dev/null 2>&1 || "$ctl" models create products --table products --primary-key sku >/dev/null
for model in users products; do
    echo "==> syncing $model"
    "$ctl" sync trigger "$model" --watch
done

echo
echo "==> lookup: enrichctl lookup products SKU-0000042 SKU-0999999 --columns name,brand,price"
"$ctl" lookup products SKU-0000042 SKU-0999999 --columns name,brand,price
echo
echo "==> enrich: an 'Order Completed' event for user 42 gains the user's plan and country"
"$ctl" enrich users --key-path userId --enrich plan=context.traits.plan --enrich country=context.traits.country \
    --event '{"type":"track","event":"Order Completed","userId":"42","properties":{"sku":"SKU-0000042"}}' --json
echo
echo "enrichd is still running (pid $(cat data/enrichd.pid)). Try:"
echo "  export ENRICH_SERVER=127.0.0.1:$port ENRICH_CA_FILE=certs/ca.pem ENRICH_TOKEN_FILE=data/owner.token"
echo "  $ctl --help"
echo "  $bin/enrich-load --server 127.0.0.1:$port --ca-file certs/ca.pem --token-file data/owner.token --batch 100 --requests 20000"
echo "Stop it with: kill \$(cat data/enrichd.pid)"
