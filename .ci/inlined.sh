#!/usr/bin/env bash
# Fails if a function of this workspace calls a SIMD intrinsic instead of inlining it.
# An intrinsic that is not inlined (its caller compiled without the target feature: a
# closure inside a kernel, a helper LLVM chose not to inline) is a function call per
# instruction, tens of times slower, with the same results, so no test sees it.
# Usage: .ci/inlined.sh BINARY (default: the report example of the release profile).
set -euo pipefail
bin="${1:-target/release/examples/report}"
if ! command -v objdump >/dev/null; then
    echo "warning: objdump not found; intrinsic inlining not checked" >&2
    exit 0
fi
objdump -d -C --no-show-raw-insn "$bin" | python3 -c '
import re, sys
func, bad = None, {}
for line in sys.stdin:
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        func = m.group(1)
        continue
    if func is None or not re.search(r"caffe2op_relu", func):
        continue
    m = re.search(r"\scall\s+[0-9a-f]+ <(.*)>", line)
    if m and "core_arch::" in m.group(1) and not re.search(r"xgetbv|cpuid", m.group(1)):
        bad.setdefault(func, set()).add(m.group(1))
for f, callees in sorted(bad.items()):
    print(f"{f}\n    calls " + "\n    calls ".join(sorted(callees)))
if bad:
    sys.exit(f"{len(bad)} function(s) of this workspace call intrinsics instead of inlining them")
print("intrinsics: every call from this workspace inlined")
'
