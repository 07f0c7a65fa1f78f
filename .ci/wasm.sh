#!/usr/bin/env bash
# The WebAssembly tests: the crate's kernel and safe-API test binaries built for
# wasm32-wasip1 and run under wasmtime (the `wasmtime` wheel from PyPI, driven by
# .ci/wasm-run.py as cargo's runner), twice: with `-C target-feature=+simd128` (the
# SIMD128 ISA, plus scalar and portable) and without (scalar and portable only).
#
# Which test binaries (TESTS, TESTS_SIMD128 below): the library's unit tests, and
# those that compare every available ISA with the oracle or check the safe API's
# refusals and ISA choice. Not run here: the operator/protobuf layer (tests/ops:
# no kernel code of its own, target-independent), concurrency (threads and child
# processes, cut by cfg on wasm anyway), hostile_alloc, the ndarray modules (the
# feature is off here), asan_tails, and the x86-only ones (avx512_ymm,
# avx512_variants, env_cap). tests/stateless runs whole, its exhaustive 16-bit
# sweeps included (under a second each with simd128).
#
# Fallback: when the rustup target or the runtime cannot be fetched (no network),
# a warning and exit 0.
#
# Cost, cold (both builds, both runs; `time bash .ci/wasm.sh` with an empty
# target/wasm): 4m49 wall, 4m43 CPU on the 2-core CI host while other builds ran
# (load average 5-6); the test runs themselves take about 30 s per configuration.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TERM_COLOR=never
TARGET=wasm32-wasip1
# With simd128: every binary below. Without: those that compare the scalar and
# portable kernels (`wide` on plain arrays, tested nowhere else) with the oracle,
# and the ISA list.
TESTS=(
    --lib
    --test isa_selection
    --test oracle_match
    --test half_oracle_match
    --test int8_relu
    --test int8_leaky_relu
    --test boundary
)
TESTS_SIMD128=(
    "${TESTS[@]}"
    --test stateless
    --test hostile_api
    --test streaming
)

skip() {
    echo "warning: wasm: $*; the WebAssembly tests are SKIPPED"
    exit 0
}

rustup target add "$TARGET" >/dev/null 2>&1 || skip "could not add the rustup target $TARGET"

# Build outputs under $CARGO_TARGET_DIR/wasm (default target/wasm), one directory for
# both configurations (their host build scripts and proc-macros are shared; the
# target features are part of each wasm artifact's hash). The runtime: the wasmtime
# wheel, installed into a directory of its own (no venv, nothing in the system's
# site-packages).
TDIR="${CARGO_TARGET_DIR:-$REPO/target}"
PYDIR="$TDIR/wasm-python"
if ! PYTHONPATH="$PYDIR" python3 -c 'import wasmtime' >/dev/null 2>&1; then
    python3 -m pip install -q --disable-pip-version-check --target "$PYDIR" wasmtime \
        >/dev/null 2>&1 || skip "could not install the wasmtime package from PyPI"
fi
export PYTHONPATH="$PYDIR"
echo "wasm: rustup target $TARGET, wasmtime $(python3 -c 'import importlib.metadata as m; print(m.version("wasmtime"))') (PyPI)"
export CARGO_TARGET_WASM32_WASIP1_RUNNER="python3 $REPO/.ci/wasm-run.py"

# No debug info: smaller modules, which link and load faster (a failing assertion
# prints its message either way; WebAssembly has no backtraces).
export CARGO_PROFILE_TEST_DEBUG=false
export CARGO_TARGET_DIR="$TDIR/wasm"

echo "=== wasm: tests under wasmtime, target features: simd128"
CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
    cargo test --target "$TARGET" "${TESTS_SIMD128[@]}"

echo "=== wasm: tests under wasmtime, target features: none"
CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="" cargo test --target "$TARGET" "${TESTS[@]}"
