#!/usr/bin/env bash
# Trust checks (issue 6), called by .ci/run:
#   1. the safe crate's unit tests and the test binaries of .ci/kernel-tests (those
#      that reach the kernels and the call boundary) under AddressSanitizer (nightly;
#      the runtime ships with it). The kernels crate's own unit tests (its software
#      16-bit conversions and the oracle's spec chain: scalar code, target-independent)
#      run in the native stage only: under ASan they would cost a second instrumented
#      build of the kernels crate (about two minutes of CPU) and check no memory access
#      the test binaries miss,
#   2. each cargo-fuzz (libFuzzer) target for a short fixed time, starting from the
#      committed seed corpus (copied to a temporary directory, so the repo never grows).
#      The targets run side by side (libFuzzer runs one thread each; the CI machines
#      have two cores), so the stage takes FUZZ_SECONDS, not three times it.
# Knobs: FUZZ_SECONDS (default 60 per target), TRUST_SKIP_ASAN=1, TRUST_SKIP_FUZZ=1.
# Build outputs go to target/asan and target/fuzz (ignored by git).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TERM_COLOR=never
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
HOST=x86_64-unknown-linux-gnu
start=$(date +%s)
step() { printf '\n=== trust [%4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

if [ "$(uname -m)" != x86_64 ]; then
    echo "trust.sh: ASan and cargo-fuzz runs are set up for $HOST only; skipping"
    exit 0
fi

step "nightly toolchain"
if ! cargo +nightly --version; then
    echo "trust.sh: a nightly toolchain is required (-Zsanitizer, cargo fuzz)" >&2
    exit 1
fi

if [ "${TRUST_SKIP_ASAN:-0}" != 1 ]; then
    step "AddressSanitizer: cargo +nightly test, the safe crate's unit tests and .ci/kernel-tests"
    source .ci/kernel-tests.sh
    # --target keeps the sanitizer out of build scripts and proc macros; doc tests
    # are left out (they would need the sanitizer in rustdoc too, and test no unsafe
    # code the other tests miss).
    # Without the candle features: the candle entry points are safe code over the same
    # kernel calls (their few unsafe lines are checked natively), and an instrumented
    # candle would add minutes.
    # Line tables are enough for ASan's reports and make the build lighter.
    # CAFFE2OP_RELU_TEST_LIGHT (tests/common: `light`): every short length at every
    # offset as natively, fewer random long calls and threaded-call modes (each call
    # runs several times slower under the sanitizer).
    RUSTFLAGS="-Zsanitizer=address" \
        CARGO_PROFILE_TEST_DEBUG=line-tables-only \
        CARGO_TARGET_DIR="$REPO/target/asan" \
        ASAN_OPTIONS="detect_stack_use_after_return=1:strict_string_checks=1" \
        CAFFE2OP_RELU_TEST_LIGHT=1 \
        cargo +nightly test --target "$HOST" -p caffe2op-relu \
        --features ndarray --lib "${KERNEL_TESTS[@]}"
fi

if [ "${TRUST_SKIP_FUZZ:-0}" != 1 ]; then
    step "cargo-fuzz"
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked
    fi
    cargo fuzz --version
    cargo fmt --manifest-path fuzz/Cargo.toml --check

    step "cargo fuzz build (ASan + coverage, release with debug assertions)"
    cargo +nightly fuzz build --target-dir "$REPO/target/fuzz"

    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    targets=($(cargo fuzz list))
    step "fuzz ${targets[*]} side by side, ${FUZZ_SECONDS}s each, from fuzz/corpus/<target>"
    pids=()
    for t in "${targets[@]}"; do
        mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
        cp -r "fuzz/corpus/$t/." "$work/$t/corpus/"
        # -timeout: an input running 30 s (a deadlock, a hang) counts as a failure.
        cargo +nightly fuzz run --target-dir "$REPO/target/fuzz" "$t" "$work/$t/corpus" -- \
            -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=4096 \
            -artifact_prefix="$work/$t/artifacts/" -print_final_stats=1 \
            >"$work/$t/log" 2>&1 &
        pids+=($!)
    done
    failed=0
    for i in "${!targets[@]}"; do
        t=${targets[$i]}
        if ! wait "${pids[$i]}"; then
            failed=1
            tail -n 80 "$work/$t/log"
            for a in "$work/$t/artifacts"/*; do
                [ -f "$a" ] || continue
                echo "--- failing input $(basename "$a") (base64; save it and run"
                echo "--- cargo +nightly fuzz run $t <file> to reproduce):"
                base64 "$a"
            done
        fi
        echo "--- $t"
        grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' \
            "$work/$t/log" || true
    done
    if [ "$failed" != 0 ]; then
        echo "trust.sh: a fuzz target failed" >&2
        exit 1
    fi
fi

step "trust checks passed"
