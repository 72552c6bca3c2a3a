#!/usr/bin/env bash
# Installs what building, testing and the demo need, only when something is missing.
# Debian packages: protobuf-c (compiler and library), protoc, OpenSSL and SQLite headers, the openssl and sqlite3
# tools, libpq and the PostgreSQL server (for the connector tests).
#   --test    also Chromium (the status page test), a C compiler (the benchmark's C client is checked by
#             Scripts/interop.sh) and, in .venv, the Python SDK, pytest and protobuf
#   --python  only the .venv part of --test (Scripts/chaos.sh)
#   --bench   also Redis (Scripts/bench.sh compares against it) and a C compiler (its two C clients)
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libssl-dev libsqlite3-dev sqlite3 openssl libpq-dev postgresql)
[ "${1:-}" = "--bench" ] && packages+=(redis-server redis-tools gcc libc6-dev)
[ "${1:-}" = "--test" ] && packages+=(chromium gcc libc6-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--python" ]; then
    # .venv holds the Python SDK (installed from clients/python as a user would) and pytest.
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    .venv/bin/python -c "import pytest" 2>/dev/null || .venv/bin/pip install --quiet "pytest>=7"
    .venv/bin/pip install --quiet --force-reinstall --no-deps ./clients/python
    .venv/bin/python -c "import google.protobuf" 2>/dev/null || .venv/bin/pip install --quiet "protobuf>=5.29,<8"
fi
