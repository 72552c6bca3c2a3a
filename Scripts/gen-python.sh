#!/usr/bin/env bash
# Regenerates the Python SDK's message modules (clients/python/enrich_client/proto) from proto/ with
# grpcio-tools' protoc, pinned so every machine writes the same bytes.
# Usage: Scripts/gen-python.sh           regenerate in place
#        Scripts/gen-python.sh --check   fail (exit 1) when the committed modules differ from a fresh generation
set -euo pipefail
cd "$(dirname "$0")/.."
GRPCIO_TOOLS_VERSION=1.71.0
venv=.venv-gen
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c "import grpc_tools, importlib.metadata as m; assert m.version('grpcio-tools') == '$GRPCIO_TOOLS_VERSION'" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "grpcio-tools==$GRPCIO_TOOLS_VERSION"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$venv/bin/python" -m grpc_tools.protoc --proto_path=proto --python_out="$out" proto/enrich/v1/*.proto
mkdir -p "$out/final"
for f in "$out"/enrich/v1/*_pb2.py; do
    # The modules live inside the enrich_client package, so their imports of each other become relative.
    sed -e 's/^from enrich\.v1 import \([a-z_]*_pb2\) as /from . import \1 as /' "$f" > "$out/final/$(basename "$f")"
done
printf '"""Message classes generated from proto/enrich/v1 by Scripts/gen-python.sh. Do not edit."""\n' > "$out/final/__init__.py"

target=clients/python/enrich_client/proto
if [ "${1:-}" = "--check" ]; then
    if diff -r "$out/final" "$target" >/dev/null; then
        echo "generated Python messages are up to date"
    else
        diff -r "$out/final" "$target" | head -20 >&2
        echo "$target is stale: run Scripts/gen-python.sh and commit the result" >&2
        exit 1
    fi
else
    rm -rf "$target"
    cp -r "$out/final" "$target"
    echo "regenerated $target"
fi
