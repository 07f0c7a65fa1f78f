# Sourced by the CI scripts: KERNEL_TESTS=(--test a --test b ...) from .ci/kernel-tests.
KERNEL_TESTS=()
while read -r t; do
    case "$t" in ''|'#'*) continue ;; esac
    KERNEL_TESTS+=(--test "$t")
done < "$(dirname "${BASH_SOURCE[0]}")/kernel-tests"
