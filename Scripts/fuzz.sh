#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (issue 13): builds Tests/Fuzz as a libFuzzer binary (release, with
# AddressSanitizer, into .build-fuzz) and runs each target from its committed seed corpus.
#
#   Scripts/fuzz.sh                  every target until RUNS executions each (default 1,000,000)
#   Scripts/fuzz.sh --smoke          every target for SMOKE_SECONDS each (default 20): what .ci/run does
#   Scripts/fuzz.sh json fql         only these targets
#
# New inputs that add coverage go to a scratch corpus (.build-fuzz/corpus, not committed); a crash, leak or timeout
# is copied to Tests/Fuzz/regressions/<target>/ (commit it once fixed: Scripts/test.sh replays that directory)
# and the script fails. Prints a table: target, executions, corpus size, crashes. Timeouts: 10 s per input.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
targets=()
for argument in "$@"; do
    case "$argument" in
        --smoke) smoke=true ;;
        *) targets+=("$argument") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(frames envelope protobuf json fql liquid mapping conditions)
echo "building the fuzz binary (release, libFuzzer + AddressSanitizer; several minutes the first time)..." >&2
swift build -c release --scratch-path .build-fuzz --product enrich-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address 2>&1 \
    | grep -E "error:|complete" | tail -3 >&2 || true
binary=$(swift build -c release --scratch-path .build-fuzz --show-bin-path)/enrich-fuzz
[ -x "$binary" ] || { echo "the fuzz binary did not build" >&2; exit 1; }
status=0
printf "| target | executions | seconds | corpus (seeds -> now) | crashes |\n|---|---|---|---|---|\n"
for target in "${targets[@]}"; do
    scratch=.build-fuzz/corpus/$target
    artifacts=.build-fuzz/artifacts/$target
    mkdir -p "$scratch" "$artifacts"
    seeds=$(ls Tests/Fuzz/corpus/$target | wc -l)
    if $smoke; then limit=(-max_total_time="${SMOKE_SECONDS:-20}"); else limit=(-runs="${RUNS:-1000000}"); fi
    log=.build-fuzz/$target.log
    started=$(date +%s)
    set +e
    suppressions=""
    [ -f "Tests/Fuzz/$target.lsan.supp" ] && suppressions="suppressions=$PWD/Tests/Fuzz/$target.lsan.supp"
    ENRICH_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="$suppressions" "$binary" "${limit[@]}" -timeout=10 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "Tests/Fuzz/corpus/$target" >"$log" 2>&1
    code=$?
    set -e
    seconds=$(( $(date +%s) - started ))
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(ls "$artifacts" | wc -l)
    printf "| %s | %s | %s | %s -> %s | %s |\n" "$target" "${executions:-?}" "$seconds" "$seeds" "$(( seeds + $(ls "$scratch" | wc -l) ))" "$crashes"
    if [ "$code" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        mkdir -p "Tests/Fuzz/regressions/$target"
        cp "$artifacts"/* "Tests/Fuzz/regressions/$target/" 2>/dev/null || true
        echo "--- $target failed (exit $code); artifacts copied to Tests/Fuzz/regressions/$target; log tail:" >&2
        tail -30 "$log" >&2
    fi
done
exit $status
