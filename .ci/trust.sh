#!/usr/bin/env bash
# Trust checks (issue 6), called by .ci/run:
#   1. the safe crate's unit tests and the test binaries of .ci/kernel-tests (those
#      that reach the kernels and the call boundary) under AddressSanitizer (nightly;
#      the runtime ships with it). The kernels crate's own unit tests (its software
#      16-bit conversions and the oracle's spec chain: scalar code, target-independent)
#      run in the native stage only: under ASan they would cost a second instrumented
#      build of the kernels crate (about two minutes of CPU) and check no memory access
#      the test binaries miss,
#   2. each libFuzzer target of fuzz/ (a cargo-fuzz project) for a short fixed time, starting from the
#      committed seed corpus (copied to a temporary directory, so the repo never grows).
#      The targets run side by side (libFuzzer runs one thread each; the CI machines
#      have two cores), so the stage takes FUZZ_SECONDS, not three times it.
# Knobs: FUZZ_SECONDS (default 45 per target), TRUST_SKIP_ASAN=1, TRUST_SKIP_FUZZ=1.
# Build outputs go to target/asan and target/fuzz (ignored by git).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TERM_COLOR=never
FUZZ_SECONDS="${FUZZ_SECONDS:-45}"
HOST=x86_64-unknown-linux-gnu
start=$(date +%s)
step() { printf '\n=== trust [%4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

if [ "$(uname -m)" != x86_64 ]; then
    echo "trust.sh: ASan and cargo-fuzz runs are set up for $HOST only; skipping"
    exit 0
fi

step "nightly toolchain"
if ! cargo +nightly --version; then
    echo "trust.sh: a nightly toolchain is required (-Zsanitizer)" >&2
    exit 1
fi

# The fuzz targets' build: what `cargo fuzz build` does, without installing
# cargo-fuzz (on a fresh machine: 39 s, 60 CPU-s to install): libFuzzer's coverage
# instrumentation and ASan on the target crates only (`--target` keeps build scripts
# and proc macros plain), release with debug assertions, one codegen unit (as
# cargo-fuzz: on 2 cores, cold, one unit took about a fifth less CPU time and wall
# time than 16), at opt-level 3 (at 1 the build took 13 s less and the targets ran
# 40% fewer inputs per second). `cargo +nightly fuzz run <target>` still works for
# developers (fuzz/ is an ordinary cargo-fuzz project).
fuzz_build() {
    RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address -Cdebug-assertions" \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
        cargo +nightly build --manifest-path fuzz/Cargo.toml --release --bins \
        --target "$HOST" --target-dir "$REPO/target/fuzz"
}
fuzz=0
mkdir -p "$REPO/target"
if [ "${TRUST_SKIP_FUZZ:-0}" != 1 ]; then
    cargo fmt --manifest-path fuzz/Cargo.toml --check
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
    # offset as natively, fewer random long calls, parameter sets, zero points, pool
    # sizes and threaded-call modes (each call runs several times slower under the
    # sanitizer).
    asan_test() {
        RUSTFLAGS="-Zsanitizer=address" \
            CARGO_PROFILE_TEST_DEBUG=line-tables-only \
            CARGO_TARGET_DIR="$REPO/target/asan" \
            ASAN_OPTIONS="detect_stack_use_after_return=1:strict_string_checks=1" \
            CAFFE2OP_RELU_TEST_LIGHT=1 \
            cargo +nightly test --target "$HOST" -p caffe2op-relu \
            --features ndarray --lib "${KERNEL_TESTS[@]}" "$@"
    }
    asan_test --no-run
    # The test runs leave a core idle much of the time (several binaries hold one or
    # two long tests): the fuzz targets build beside them.
    if [ "${TRUST_SKIP_FUZZ:-0}" != 1 ]; then
        fuzz_build >"$REPO/target/fuzz-build.log" 2>&1 &
        fuzz=$!
    fi
    asan_test
fi

if [ "${TRUST_SKIP_FUZZ:-0}" != 1 ]; then
    step "fuzz targets: cargo +nightly build (libFuzzer coverage + ASan, release with debug assertions)"
    if [ "$fuzz" != 0 ]; then
        rc=0
        wait "$fuzz" || rc=$?
        cat "$REPO/target/fuzz-build.log"
        [ "$rc" = 0 ] || { echo "trust.sh: the fuzz build failed" >&2; exit "$rc"; }
    else
        fuzz_build
    fi
    bin="$REPO/target/fuzz/$HOST/release"

    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    targets=($(cd fuzz/fuzz_targets && ls *.rs | sed 's/\.rs$//'))
    step "fuzz ${targets[*]} side by side, ${FUZZ_SECONDS}s each, from fuzz/corpus/<target>"
    pids=()
    for t in "${targets[@]}"; do
        mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
        cp -r "fuzz/corpus/$t/." "$work/$t/corpus/"
        # -timeout: an input running 30 s (a deadlock, a hang) counts as a failure.
        "$bin/$t" "$work/$t/corpus" \
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
