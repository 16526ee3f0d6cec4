#!/usr/bin/env python3
"""Checks that README.md's C++ snippets are the code of the examples that
compile them, so neither can change without the other.

Usage: check_readme_snippets.py README.md HEADING=FILE...

HEADING is the text of the README line just before the ```cpp block (e.g.
"The loop, raw:"). In FILE the snippet sits between the lines
"// README begin" and "// README end"; lines there ending in "// wrapper"
(a main() around statements) are not part of it. Lines are compared without
leading and trailing blanks, and blank lines are ignored, so the examples
may indent a snippet's statements inside main().
"""
import sys


def significant(lines):
    return [line.strip() for line in lines if line.strip()]


def readme_snippet(readme_lines, heading):
    for i, line in enumerate(readme_lines):
        if line.strip() == heading:
            rest = readme_lines[i + 1:]
            starts = [j for j, text in enumerate(rest) if text.strip() == "```cpp"]
            if not starts or any(text.strip() for text in rest[:starts[0]]):
                break
            start = starts[0] + 1
            end = next(j for j in range(start, len(rest)) if rest[j].strip() == "```")
            return significant(rest[start:end])
    sys.exit(f"README.md: no ```cpp block right after the line '{heading}'")


def example_snippet(path):
    with open(path, encoding="utf-8") as file:
        lines = file.read().splitlines()
    try:
        begin = lines.index("// README begin")
        end = lines.index("// README end")
    except ValueError:
        sys.exit(f"{path}: no '// README begin' / '// README end' markers")
    return significant(line for line in lines[begin + 1:end] if not line.rstrip().endswith("// wrapper"))


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        readme = file.read().splitlines()
    failed = False
    for pair in sys.argv[2:]:
        heading, path = pair.split("=", 1)
        expected = readme_snippet(readme, heading)
        actual = example_snippet(path)
        if expected != actual:
            failed = True
            print(f"README.md's snippet after '{heading}' differs from {path}:")
            for line in expected:
                print(("  " if line in actual else "- ") + line)
            for line in actual:
                if line not in expected:
                    print("+ " + line)
        else:
            print(f"'{heading}' matches {path} ({len(expected)} lines)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
