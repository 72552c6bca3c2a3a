#!/usr/bin/env bash
# Starts a real enrichd over TLS on 127.0.0.1 (a free port) with a small demo warehouse, then checks it from
# outside Swift: `openssl s_client` completes a handshake, and the Python client in Tests/interop (written from
# docs/PROTOCOL.md) calls it. Stops the server at the end. Expects `swift build` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

Scripts/gen-certs.sh "$work/certs" >/dev/null
"$bin/enrichd" demo-data --warehouse "$work/data/warehouse.sqlite" --users 1000 --products 20000 >/dev/null
export ENRICH_BOOTSTRAP_TOKEN="enr_interop_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
"$bin/enrichd" serve --port 0 --metrics-port 0 --data-dir "$work/data" --tls-cert "$work/certs/server.pem" \
    --tls-key "$work/certs/server-key.pem" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/stdout" 2>/dev/null && break
    sleep 0.1
done
port=$(sed -n 's/^enrichd listening on .*:\([0-9]*\)$/\1/p' "$work/stdout")
[ -n "$port" ] || { echo "enrichd did not start:"; cat "$work/stderr"; exit 1; }
ctl=("$bin/enrichctl")
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE="$work/certs/ca.pem" ENRICH_TOKEN="$ENRICH_BOOTSTRAP_TOKEN"
"${ctl[@]}" models create products --table products --primary-key sku >/dev/null
"${ctl[@]}" sync trigger products --watch 2>/dev/null | tail -1

echo "openssl s_client handshake:"
echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$work/certs/ca.pem" \
    -verify_return_error -verify_ip 127.0.0.1 -brief >"$work/s_client" 2>&1 || true
if grep -q "Verification: OK" "$work/s_client"; then
    grep -E "Protocol version|Verification" "$work/s_client"
else
    cat "$work/s_client"; echo "openssl s_client could not complete a verified handshake"; exit 1
fi

echo "python interop (docs/PROTOCOL.md):"
.venv/bin/python Tests/interop/lookup_interop.py --port "$port" --ca-file "$work/certs/ca.pem"

# The Swift SDK's README example (Tests/ExternalPackage, built by Scripts/test.sh as another package would),
# run as written against this server.
example=Tests/ExternalPackage/.build/debug/sdk-example
if [ -x "$example" ]; then
    echo "Swift SDK example (Sources/EnrichClient/README.md):"
    "$example" | tee "$work/example"
    grep -q "^SKU-0000042 " "$work/example" && grep -q "^SKU-9999999 not found$" "$work/example" \
        && grep -q '^enriched {.*"name":' "$work/example" && grep -q "^run [0-9]*: success" "$work/example" \
        || { echo "the SDK example did not print what its README says"; exit 1; }
else
    echo "Tests/ExternalPackage is not built: Scripts/test.sh builds it before this script" >&2
    exit 1
fi

# The benchmark's C client (Scripts/bench/enrichd-load.c, written from docs/PROTOCOL.md like the Python client):
# built and run here so the benchmark never meets it for the first time. Every key exists and every event names
# one, so every answer must carry as many found flags as keys, all set, and every event must come back enriched;
# enrichd-load itself stops on any status but OK.
echo "C load client (Scripts/bench/enrichd-load.c):"
cc -O2 -Wall -Werror -o "$work/enrichd-load" Scripts/bench/enrichd-load.c -lssl -lcrypto
cat >"$work/mappings.json" <<'JSON'
{"mappings": [{"name": "viewed", "condition": "type = \"track\" and event = \"Product Viewed\"",
  "matches": [{"model": "products", "match_property": "properties.sku"}],
  "enrichments": [{"model": "products", "column": "name", "key": "properties.product_name"}]}]}
JSON
"${ctl[@]}" destinations create interop --file "$work/mappings.json" >/dev/null
"$work/enrichd-load" lookup 127.0.0.1 "$port" "$work/certs/ca.pem" "$ENRICH_TOKEN" 2 10 200 30 20000 products name \
    price | tee "$work/lookup.json"
"$work/enrichd-load" enrich 127.0.0.1 "$port" "$work/certs/ca.pem" "$ENRICH_TOKEN" 2 10 200 30 20000 interop \
    | tee "$work/enrich.json"
python3 -c 'import json, sys
lookup, enrich = (json.load(open(path)) for path in sys.argv[1:])
assert lookup["calls"] == 200 and lookup["keys"] == 2000 and lookup["found"] == 2000, lookup
assert enrich["calls"] == 200 and enrich["events"] == 2000 and enrich["enriched"] == 2000, enrich' \
    "$work/lookup.json" "$work/enrich.json" || { echo "enrichd-load did not get every key and event back"; exit 1; }
if "$work/enrichd-load" lookup 127.0.0.1 "$port" "$work/certs/ca.pem" "enr_wrong_token" 1 1 1 30 20000 products name \
    2>"$work/load.err"; then
    echo "enrichd-load took a call refused for its token as answered"; exit 1
fi
grep -q "status 16" "$work/load.err" || { cat "$work/load.err"; exit 1; }
echo "a wrong token: the call failed with status 16 (UNAUTHENTICATED), and enrichd-load said so"
