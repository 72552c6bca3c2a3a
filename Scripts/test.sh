#!/usr/bin/env bash
# Runs every test: the generated-code check, the Swift test suite, and the interop checks against a real server
# (openssl s_client and the Python client). Installs missing Debian packages and the Python protobuf package first.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh --python
Scripts/gen-protos.sh --check
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/swift-test.log
Scripts/interop.sh
