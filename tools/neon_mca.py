#!/usr/bin/env python3
"""Int8LeakyRelu's NEON loops against the scalar table loop, in LLVM's scheduling
models (no arm64 core is needed, and none is measured: these are llvm-mca's
estimates of a loop's steady-state throughput from L1).

    python3 tools/neon_mca.py [--mca PATH] [--cpus a,b,...]

Builds the kernels crate's assembly for aarch64-unknown-linux-gnu (rustup target),
takes the four-register main loop of each path of the NEON `int8_lut` (lookup, plain
linear form, corrected form) and the
oracle's scalar table loop, and prints each path's speed over the scalar loop per
CPU model: (scalar cycles per byte) / (loop cycles per byte). Needs llvm-mca 17 or
later for the Neoverse models (Debian: `apt-get install llvm-19`).
"""

import argparse
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = "aarch64-unknown-linux-gnu"
CPUS = "cortex-a55,cortex-a72,neoverse-n1,neoverse-n2,neoverse-v1,neoverse-v2,apple-m1,ampere1"


def assembly():
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target", "asm-arm"))
    subprocess.run(
        ["cargo", "rustc", "--release", "-p", "caffe2op-relu-kernels", "--target", TARGET,
         "--", "--emit", "asm"],
        cwd=ROOT, env=env, check=True)
    files = glob.glob(os.path.join(ROOT, "target", "asm-arm", TARGET, "release", "deps",
                                   "caffe2op_relu_kernels-*.s"))
    return open(max(files, key=os.path.getmtime)).read().split("\n")


def function(lines, pattern):
    """The lines of the first function whose symbol matches `pattern`."""
    start = next(i for i, l in enumerate(lines) if re.match(pattern, l))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == ".cfi_endproc")
    return lines[start:end]


def loops(body):
    """Every backward branch's loop body (instructions only)."""
    labels = {m.group(1): i for i, l in enumerate(body) if (m := re.match(r"^(\.LBB\w+):", l))}
    found = []
    for i, l in enumerate(body):
        m = re.search(r"\t(?:b(?:\.\w+)?|cbn?z\s+\w+,)\s+(\.LBB\w+)$", l)
        if m and m.group(1) in labels and labels[m.group(1)] < i:
            found.append([x for x in body[labels[m.group(1)] + 1:i + 1]
                          if x.startswith("\t") and not x.startswith("\t.")])
    return found


def kind(loop):
    """Which path a four-register loop of the NEON kernel belongs to, or None."""
    text = "\n".join(loop)
    mul, tbl, ushl = text.count("sqrdmulh"), len(re.findall(r"\ttb[lx]\t", text)), text.count("ushl")
    if mul == 0 and tbl == 16:
        return "lookup"
    if mul == 16 and tbl == 0:
        return "plain form"
    if mul == 16 and tbl == 4 and ushl:
        return "corrected form"
    return None


def cycles(mca, cpu, loop, iterations=1000):
    out = subprocess.run([mca, "-mtriple=aarch64", "-mcpu=" + cpu, "-iterations=%d" % iterations],
                         input="\n".join(loop) + "\n", capture_output=True, text=True, check=True)
    return int(re.search(r"Total Cycles:\s+(\d+)", out.stdout).group(1)) / iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mca", default="/usr/lib/llvm-19/bin/llvm-mca")
    ap.add_argument("--cpus", default=CPUS)
    args = ap.parse_args()
    if not os.access(args.mca, os.X_OK):
        sys.exit("no llvm-mca at %s (Debian: apt-get install llvm-19)" % args.mca)
    lines = assembly()
    neon = function(lines, r"^_ZN\w*4neon2u88int8_lut\w*:$")
    paths = {}
    for loop in loops(neon):
        k = kind(loop)
        if k and k not in paths:
            paths[k] = loop
    scalar = [l for l in loops(function(lines, r"^_ZN\w*6oracle6scalar2u88int8_lut\w*:$"))
              if "ldrb" in "\n".join(l)][0]
    order = ["lookup", "plain form", "corrected form"]
    print("| CPU model | scalar loop, cycles/byte | " + " | ".join(order) + " |")
    print("|---|---|" + "---|" * len(order))
    for cpu in args.cpus.split(","):
        s = cycles(args.mca, cpu, scalar)
        # Each four-register loop moves 64 bytes a turn.
        cells = ["%.2fx" % (s / (cycles(args.mca, cpu, paths[k]) / 64)) if k in paths else "-"
                 for k in order]
        print("| %s | %.2f | %s |" % (cpu, s, " | ".join(cells)))


if __name__ == "__main__":
    main()
