#!/usr/bin/env bash
# Runs every test: the generated-code checks, the Swift test suite, the interop checks against a real server
# (openssl s_client and a Python script written from docs/PROTOCOL.md), and the Python SDK's pytest suite. Starts
# a throwaway PostgreSQL cluster for the connector tests. Installs missing Debian packages and the Python protobuf package first.
set -euo pipefail
cd "$(dirname "$0")/.."
# The request hot path compiled -O in the debug build too, so the allocation-count tests measure shipping code
# (Package.swift; without it those suites are skipped and say why).
export ENRICH_OPTIMIZE_HOT_PATHS=1
Scripts/install-deps.sh --test
Scripts/gen-protos.sh --check
Scripts/gen-python.sh --check
# The repository keeps its own copy of Segment's vectors; when their source is beside the clone, they must match.
Scripts/refresh-vectors.sh --check
# Formatting (.swift-format, with the toolchain's swift-format).
Scripts/lint.sh
# Our own code builds without warnings (dependencies' warnings are theirs): the equivalent of
# -warnings-as-errors for this package only. Every import of another target must be a declared dependency.
mkdir -p .build
swift build --build-tests --explicit-target-dependency-import-check error 2>&1 | tee .build/build.log | grep -E "error|warning: |Compiling|Build complete" | grep -v "^\[" || true
if grep -E "^$(pwd)/(Sources|Tests)/.*(warning|error):" .build/build.log; then
    echo "the build has warnings or errors in Sources/ or Tests/ (above)" >&2
    exit 1
fi
grep -q "Build complete" .build/build.log || { echo "build failed" >&2; exit 1; }
# A throwaway PostgreSQL cluster on loopback for the connector tests (stopped and removed on exit). Set
# ENRICH_TEST_POSTGRES to use a server of your own instead.
if [ -z "${ENRICH_TEST_POSTGRES:-}" ]; then
    pgdir=$(mktemp -d /tmp/enrich-pg-XXXXXX)
    trap 'Scripts/postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
    ENRICH_TEST_POSTGRES=$(Scripts/postgres.sh start "$pgdir")
    export ENRICH_TEST_POSTGRES
fi
export ENRICH_REQUIRE_POSTGRES=1
swift test --skip-build 2>&1 | tee .build/swift-test.log
# Every fuzz target's seed corpus and every input fuzzing ever found (Tests/Fuzz/regressions) replayed through the
# same code and invariants as the fuzzer's (the debug build, without sanitizers).
for target in frames envelope protobuf json fql liquid mapping conditions; do
    inputs=("Tests/Fuzz/corpus/$target")
    [ -d "Tests/Fuzz/regressions/$target" ] && inputs+=("Tests/Fuzz/regressions/$target")
    .build/debug/enrich-fuzz "$target" "${inputs[@]}"
done
# The SDK as another package uses it: a package outside this one (Tests/ExternalPackage) depends on EnrichClient
# and builds; and without the optimization switch the package declares no unsafe flags, which SwiftPM refuses in a
# versioned dependency.
(cd Tests/ExternalPackage && env -u ENRICH_OPTIMIZE_HOT_PATHS swift build 2>&1 | tail -1)
if env -u ENRICH_OPTIMIZE_HOT_PATHS swift package dump-package | grep -q unsafeFlags; then
    echo "Package.swift uses unsafe flags by default: EnrichClient could not be a versioned dependency" >&2
    exit 1
fi
# A full disk for real: the data directory on a small tmpfs (or /dev/full where mounting is not allowed).
Scripts/disk-full.sh
# The status page (HTTP port) rendered by headless Chromium, checked for what it shows.
Scripts/status-page.sh
Scripts/interop.sh
# The Python SDK against a real server; pytest exits non-zero on failures and (5) when it collects no test.
(cd clients/python && ../../.venv/bin/python -m pytest tests -q)
