#!/usr/bin/env bash
# Miri over the safe crate's call boundary: the library's unit tests and
# tests/boundary.rs (slices, in place, Cell views that alias, raw pointers valid and
# refused, calls split across rayon threads, Int8Relu, the compiler's loops, ndarray
# views, the operator workspace). Miri runs the ISAs it can execute: the scalar loops
# and the portable (`wide`, SSE2) kernels; it detects no AVX2 or AVX-512.
#
# Flags, and why:
# - -Zmiri-tree-borrows: under the default Stacked Borrows, Miri stops at the first
#   call split across threads inside crossbeam-epoch (rayon's dependency), a known
#   pattern of that crate and not ours; Tree Borrows accepts it. Our own code is then
#   checked under Tree Borrows.
# - -Zmiri-ignore-leaks: rayon's global pool threads are still parked when a test
#   returns; Miri would otherwise report them as leaked.
# - -Zmiri-permissive-provenance: crossbeam-epoch casts integers to pointers; this
#   silences the warning (our code does no such cast).
# Knob: MIRI_SKIP=1 skips the stage.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TERM_COLOR=never
if [ "${MIRI_SKIP:-0}" = 1 ]; then
    echo "miri.sh: skipped (MIRI_SKIP=1)"
    exit 0
fi
if ! rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1 \
    || ! cargo +nightly miri --version; then
    echo "miri.sh: could not install Miri on the nightly toolchain (no network?); skipped" >&2
    exit 0
fi
export MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-ignore-leaks -Zmiri-permissive-provenance"
CARGO_TARGET_DIR="$REPO/target/miri" cargo +nightly miri test -p caffe2op-relu \
    --features ndarray --lib --test boundary
