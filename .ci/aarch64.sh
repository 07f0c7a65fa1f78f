#!/usr/bin/env bash
# The aarch64 (NEON) tests under qemu-user, for two CPU models: `max` (NEON plus
# every extension qemu has) and `cortex-a53` (ARMv8.0, NEON only): the safe crate's
# unit tests and the test binaries of .ci/kernel-tests.
#
# Light path: rustup's aarch64 standard library, Debian's cross linker
# (gcc-aarch64-linux-gnu) and qemu-user as the test runner. The test binaries are
# built once and run under both CPU models (the runner does not change the build).
# Fallback, when the target or the packages cannot be fetched: the Debian chroot of
# ../shared/tools/aarch64 (its setup.sh and run.sh), as before.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
cd "$REPO"
export CARGO_TERM_COLOR=never
# The safe crate's unit tests and the binaries that reach the kernels
# (.ci/kernel-tests). The kernels crate's own unit tests (software 16-bit conversions,
# the oracle's spec chain: scalar, target-independent code) run in the native stage:
# here they would cost one more cross build of the kernels crate.
source .ci/kernel-tests.sh
ARGS=(-p caffe2op-relu --features ndarray --lib "${KERNEL_TESTS[@]}")
# Under cortex-a53 the same binaries run (the build does not depend on the CPU model):
# what that model adds is that every kernel entry point executes on an ARMv8.0 core
# without an illegal instruction, and the oracle comparisons of every op, type and
# entry point cover that: every length and offset, every memory mode. The rest of the
# list, and the threaded, streaming and random-length calls of these binaries (the
# same entry points again), ran under `max`.
ARGS_A53=(-p caffe2op-relu --features ndarray --lib
    --test oracle_match --test half_oracle_match --test int8_relu --test int8_leaky_relu
    --test boundary
    -- --skip threaded_path --skip quickcheck --skip streaming)
args_for() { if [ "$1" = cortex-a53 ]; then echo "${ARGS_A53[@]}"; else echo "${ARGS[@]}"; fi; }

light_path() {
    rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || return 1
    local pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1 \
            || return 1
    fi
    command -v qemu-aarch64 >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null
}

if light_path; then
    echo "aarch64: rustup target + aarch64-linux-gnu-gcc + $(qemu-aarch64 --version | head -1)"
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
    export CARGO_TARGET_DIR="$REPO/target/aarch64"
    for cpu in max cortex-a53; do
        echo "=== aarch64: tests under qemu -cpu $cpu"
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu $cpu" \
            cargo test --target aarch64-unknown-linux-gnu $(args_for "$cpu")
    done
else
    echo "aarch64: the rustup target or the cross packages are unavailable; using the chroot"
    bash "$SHARED/tools/aarch64/setup.sh"
    for cpu in max cortex-a53; do
        echo "=== aarch64 (chroot): tests under qemu --cpu $cpu"
        bash "$SHARED/tools/aarch64/run.sh" --cpu "$cpu" "$REPO" $(args_for "$cpu")
    done
fi
