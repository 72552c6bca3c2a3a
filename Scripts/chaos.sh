#!/usr/bin/env bash
# Hostile clients against a real enrichd, side by side with a well-behaved one, on 127.0.0.1 (issue 12).
#
# Builds release binaries, makes certificates and a 200k-row demo `products` model (synced and persisted), adds a
# destination whose condition is 80 contains() (the worst the 4 KiB condition limit allows), then for each case
# starts enrichd fresh and runs four hostile processes for DURATION seconds (60 for the never-reading client)
# while a prober measures Health latency on an open connection and on fresh connections; last, SIGTERM under
# enrich-load load. Prints a table (case, limit hit, prober p50/p99, RSS before/after, longest inline slice,
# verdict) and exits non-zero when a target is missed. Everything is stopped on exit.
#
# Environment: DURATION (seconds per case, default 20), CASES (comma-separated subset), OUT (also write the table).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh --python >/dev/null
echo "building release binaries (a few minutes the first time)..." >&2
for product in enrichd enrichctl enrich-load; do
    swift build -c release --product "$product" 2>&1 | grep -E "error:|complete" | tail -1 >&2 || true
done
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/enrich-chaos-XXXXXX)
cleanup() {
    pkill -f "$work/data" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
metrics_port=$(free_port)
token=enr_chaos_owner_0123456789abcdef

Scripts/gen-certs.sh "$work/certs" >/dev/null
"$bin/enrichd" demo-data --warehouse "$work/data/warehouse.sqlite" --users 1000 --products 200000 >/dev/null
ENRICH_BOOTSTRAP_TOKEN=$token "$bin/enrichd" serve --port "$port" --metrics-port "$metrics_port" --data-dir "$work/data" \
    --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" --log-level warning \
    >"$work/setup.out" 2>"$work/setup.log" &
setup_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/setup.out" 2>/dev/null && break; sleep 0.1; done
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE="$work/certs/ca.pem" ENRICH_TOKEN="$token"
"$bin/enrichctl" models create products --table products --primary-key sku >/dev/null
"$bin/enrichctl" sync trigger products --watch >/dev/null 2>&1
condition=$(python3 -c 'print(" or ".join(f"properties.note contains \"needle-{i:04d}-xxxxxxxx\"" for i in range(80)))')
python3 - "$work/heavy.json" "$condition" <<'PY'
import json, sys
json.dump({"mappings": [{"name": "heavy", "condition": sys.argv[2],
           "matches": [{"model": "products", "match_property": "properties.sku"}],
           "enrichments": [{"model": "products", "column": "name", "key": "properties.product_name"}]}]},
          open(sys.argv[1], "w"))
PY
echo "condition of $(printf %s "$condition" | wc -c) bytes" >&2
"$bin/enrichctl" destinations create heavy --file "$work/heavy.json" >/dev/null
kill "$setup_pid"; wait "$setup_pid" 2>/dev/null || true

.venv/bin/python Scripts/chaos/chaos.py --bin "$bin" --work "$work" --port "$port" --metrics-port "$metrics_port" \
    --token "$token" --ca "$work/certs/ca.pem" --duration "${DURATION:-20}" \
    ${CASES:+--cases "$CASES"} ${OUT:+--out "$OUT"}
