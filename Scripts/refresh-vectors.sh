#!/usr/bin/env bash
# Refreshes the repository's copy of Segment's vectors (Tests/Fixtures/segment) from their source, by default
# ../shared/vectors beside the project root. With --check, only compares and fails on a difference; without a
# source directory it says so and passes, since a user's clone has none.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
if [ "${1:-}" = "--check" ]; then check=true; shift; fi
source_dir="${1:-../shared/vectors}"
target=Tests/Fixtures/segment
if [ ! -d "$source_dir" ]; then
    echo "no vector source at $source_dir; the copy in $target is used as it is"
    exit 0
fi
status=0
for file in "$source_dir"/*.json; do
    name=$(basename "$file")
    if ! cmp -s "$file" "$target/$name"; then
        if $check; then echo "$target/$name differs from $file"; status=1; else cp "$file" "$target/$name"; chmod 644 "$target/$name"; echo "updated $name"; fi
    fi
done
if ! cmp -s "$source_dir/README.md" "$target/SOURCE.md"; then
    if $check; then echo "$target/SOURCE.md differs from $source_dir/README.md"; status=1; else cp "$source_dir/README.md" "$target/SOURCE.md"; chmod 644 "$target/SOURCE.md"; echo "updated SOURCE.md"; fi
fi
$check && [ $status -eq 0 ] && echo "vectors in $target match $source_dir"
exit $status
