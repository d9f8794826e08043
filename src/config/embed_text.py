#!/usr/bin/env python3
"""Turns a text file into a C function returning it as a string literal.

usage: embed_text.py INPUT OUTPUT FUNCTION

Used at build time to embed the default profile, so that the YAML stays an
ordinary file in the source tree and the binary needs no data files.
"""
import sys


def c_literal_line(line: bytes) -> str:
    out = []
    for b in line:
        c = chr(b)
        if c == "\n":
            out.append("\\n")
        elif c in "\\\"":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F and c != "?":  # "?" could start a trigraph
            out.append(c)
        else:
            out.append("\\%03o" % b)  # three digits: never eats the next one
    return '"' + "".join(out) + '"'


def main() -> int:
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    src, dst, func = sys.argv[1:]
    with open(src, "rb") as f:
        data = f.read()
    if b"\0" in data:
        sys.stderr.write("%s: NUL byte; cannot embed as a string\n" % src)
        return 1
    lines = data.splitlines(keepends=True) or [b""]
    body = "\n".join("    " + c_literal_line(l) for l in lines)
    name = src.replace("\\", "/").rsplit("/", 1)[-1]
    with open(dst, "w", encoding="ascii") as f:
        f.write("/* Generated from %s by embed_text.py; do not edit. */\n" % name)
        f.write("const char *%s(void);\n\n" % func)
        f.write("const char *%s(void)\n{\n" % func)
        f.write("  static const char text[] =\n%s;\n" % body)
        f.write("  return text;\n}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
