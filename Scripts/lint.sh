#!/usr/bin/env bash
# Checks the formatting of every Swift file in the repository against .swift-format (4 spaces, 120 columns,
# ordered imports, triple-slash docs, ...), with the swift-format that ships in the Swift toolchain.
# Usage: Scripts/lint.sh           fail (exit 1) listing every finding
#        Scripts/lint.sh --fix     reformat the files in place
# Generated code (Sources/RPCMessages/Generated, marked swift-format-ignore-file) is left as generated.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.swift')
if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --parallel "${files[@]}"
    echo "formatted ${#files[@]} files"
else
    # NIO's socketOption(_:) is SOL_SOCKET level: socketOption(.tcp_nodelay) sets SO_DEBUG. TCP options go
    # through tcpOption(_:).
    if grep -n 'socketOption(\.tcp_' "${files[@]}"; then echo "lint: use tcpOption(_:) for TCP options" >&2; exit 1; fi
    swift format lint --strict --parallel "${files[@]}"
    echo "lint: ${#files[@]} Swift files follow .swift-format"
fi
