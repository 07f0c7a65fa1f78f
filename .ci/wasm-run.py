#!/usr/bin/env python3
"""Runs a wasm32-wasip1 program under wasmtime (the `wasmtime` package from PyPI).

Used as cargo's runner for the wasm32-wasip1 target (.ci/wasm.sh sets
CARGO_TARGET_WASM32_WASIP1_RUNNER to "<python> .ci/wasm-run.py"), so that
`cargo test --target wasm32-wasip1` and `cargo run --target wasm32-wasip1` run the
built module:

    python3 .ci/wasm-run.py PROGRAM.wasm [ARGS...]

The program gets ARGS, this process's environment, stdin/stdout/stderr and the
current directory (preopened as "."). SIMD128 is on and relaxed SIMD off, so a
module that used a relaxed-SIMD instruction would fail to load. The exit status is
the program's (`proc_exit`); a trap (a Rust panic aborts, which traps) prints the
trap and exits with 134, as an aborted native process would.
"""

import sys

try:
    import wasmtime
except ImportError:
    sys.exit("wasm-run.py: the `wasmtime` Python package is missing (pip install wasmtime)")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    program = argv[1]

    config = wasmtime.Config()
    config.wasm_simd = True
    config.wasm_relaxed_simd = False
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, program)

    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    wasi = wasmtime.WasiConfig()
    wasi.argv = [program] + argv[2:]
    wasi.inherit_env()
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    wasi.preopen_dir(".", ".")
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)

    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    try:
        start(store)
    except wasmtime.ExitTrap as e:
        return e.code
    except wasmtime.Trap as e:
        sys.stdout.flush()
        print(f"wasm-run.py: {program} trapped: {e}", file=sys.stderr)
        return 134
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
