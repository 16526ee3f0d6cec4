#!/usr/bin/env python3
"""scripts/check-layers.py on the real tree and on copies with one wrong
include each: it must pass the first and fail every copy, naming the file.

    tests/layers/check_layers_test.py SOURCE_DIR
"""
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(sys.argv[1]).resolve()
SCRIPT = ROOT / "scripts" / "check-layers.py"
failures = []


def run(tree):
    return subprocess.run([sys.executable, str(SCRIPT), str(tree)], capture_output=True,
                          text=True)


def expect(name, condition, detail):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        failures.append(name)
        print(detail)


result = run(ROOT)
expect("the real tree passes", result.returncode == 0, result.stdout + result.stderr)

# (file to spoil, include to add): a lower layer reaching up, through a
# public header and through a private one.
WRONG = [
    ("src/core/poller.cpp", '#include "pizzeria/net/tcp_stream.hpp"'),
    ("include/pizzeria/coro/task.hpp", "#include <pizzeria/pizza/protocol.hpp>"),
    ("src/exec/thread_pool.cpp", '#include "programs/lab/experiments.hpp"'),
    ("src/net/tcp_stream.cpp", '#include "pizzeria/service/service_notify.hpp"'),
    ("src/service/service_notify.cpp", '#include "pizzeria/net/tcp_stream.hpp"'),
]
for spoiled, include in WRONG:
    with tempfile.TemporaryDirectory() as temporary:
        copy = pathlib.Path(temporary)
        for top in ("src", "include"):
            shutil.copytree(ROOT / top, copy / top)
        target = copy / spoiled
        target.write_text(target.read_text() + include + "\n")
        result = run(copy)
        expect(f"{spoiled} including {include.split()[-1]} fails",
               result.returncode == 1 and spoiled in result.stdout
               and " includes " in result.stdout,
               f"exit {result.returncode}\n{result.stdout}{result.stderr}")

# An include of the same layer or a lower one is fine.
with tempfile.TemporaryDirectory() as temporary:
    copy = pathlib.Path(temporary)
    for top in ("src", "include"):
        shutil.copytree(ROOT / top, copy / top)
    target = copy / "src/net/tcp_stream.cpp"
    target.write_text(target.read_text() + '#include "pizzeria/core/unique_fd.hpp"\n')
    result = run(copy)
    expect("net including core passes", result.returncode == 0, result.stdout + result.stderr)

sys.exit(1 if failures else 0)
