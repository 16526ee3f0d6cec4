#!/usr/bin/env python3
"""Fails when a file of one layer includes a header of a higher layer.

The layers, lowest first, are docs/design.md's table; a layer may include
its own headers and those of the layers below it. Files under src/<layer>/
and include/pizzeria/<layer>/ belong to <layer>; apps/ is above them all.

    scripts/check-layers.py [ROOT]     # ROOT: the tree to check (default: .)

Prints one line per wrong include (file:line: what and why) and exits 1 if
there is any, 0 otherwise.
"""
import pathlib
import re
import sys

# Lowest first. Keep in step with docs/design.md ("Layers") and the
# pz_layer() link lists in CMakeLists.txt.
LAYERS = ["core", "coro", "exec", "net", "server", "load", "pizza", "programs"]

# Layers beside the stack: each may include only the stack layers named here,
# and no stack layer may include it (only apps/ do).
SIDE_LAYERS = {"service": ["core"]}

PUBLIC = re.compile(r'^\s*#\s*include\s*[<"]pizzeria/([a-z_]+)/')
PRIVATE = re.compile(r'^\s*#\s*include\s*"([a-z_]+)/')


def layer_of(root, path):
    relative = path.relative_to(root).parts
    if relative[0] == "src" and len(relative) > 2:
        return relative[1]
    if relative[:2] == ("include", "pizzeria") and len(relative) > 3:
        return relative[2]
    return None


def included_layer(line):
    match = PUBLIC.match(line)
    if match:
        return match.group(1)
    match = PRIVATE.match(line)
    # "exec/fd_ready.hpp": a private header beside its layer's sources.
    if match and (match.group(1) in LAYERS or match.group(1) in SIDE_LAYERS):
        return match.group(1)
    return None


def check_side_layer(root, path, layer):
    allowed = set(SIDE_LAYERS[layer]) | {layer}
    problems = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        other = included_layer(line)
        if other is not None and other not in allowed:
            problems.append(f"{path.relative_to(root)}:{number}: {layer} includes {other}, "
                            f"a layer it may not use (only {', '.join(sorted(allowed))}): "
                            f"{line.strip()}")
    return problems


def check(root):
    problems = []
    for top in ("src", "include"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h") or not path.is_file():
                continue
            layer = layer_of(root, path)
            if layer in SIDE_LAYERS:
                problems += check_side_layer(root, path, layer)
                continue
            if layer not in LAYERS:
                if layer is not None:
                    problems.append(f"{path.relative_to(root)}: layer '{layer}' is not in the "
                                    f"layer list of scripts/check-layers.py")
                continue
            rank = LAYERS.index(layer)
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                other = included_layer(line)
                if other in SIDE_LAYERS:
                    problems.append(f"{path.relative_to(root)}:{number}: {layer} includes "
                                    f"{other}, a layer beside the stack that only apps/ "
                                    f"may use: {line.strip()}")
                    continue
                if other is None or other not in LAYERS:
                    continue
                if LAYERS.index(other) > rank:
                    problems.append(f"{path.relative_to(root)}:{number}: {layer} includes "
                                    f"{other}, a higher layer: {line.strip()}")
    return problems


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    if not (root / "src").is_dir() or not (root / "include").is_dir():
        print(f"check-layers: {root} has no src/ and include/", file=sys.stderr)
        return 2
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        side = ", ".join(f"{name} (uses {', '.join(uses)})"
                         for name, uses in SIDE_LAYERS.items())
        print(f"check-layers: {len(problems)} include(s) of a higher layer "
              f"(order, lowest first: {' < '.join(LAYERS)}; beside the stack: {side})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
