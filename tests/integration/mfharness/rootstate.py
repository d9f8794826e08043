"""The root namespace must come out of a run exactly as it went in: the
daemon only ever runs inside test namespaces, so any change here is a leak
(a daemon that ignored its namespace, or a harness bug)."""

import difflib
import re

from .netns import run_host

COMMANDS = (
    ["ip", "route"],
    ["ip", "-6", "route"],
    ["ip", "rule"],
    ["ip", "-6", "rule"],
)

# Lifetimes of RA-learnt routes count down on their own: not a change.
_EXPIRES = re.compile(r"\bexpires \d+sec\b")


def snapshot():
    out = {}
    for argv in COMMANDS:
        text = run_host(argv, timeout=5).stdout
        out[" ".join(argv)] = _EXPIRES.sub("expires -", text)
    return out


def diff(before, after):
    """Returns a readable unified diff of two snapshots ("" when equal)."""
    parts = []
    for key in before.keys() | after.keys():
        a = before.get(key, "").splitlines()
        b = after.get(key, "").splitlines()
        if a != b:
            parts.append("\n".join(difflib.unified_diff(
                a, b, fromfile=f"{key} (before)", tofile=f"{key} (after)",
                lineterm="")))
    return "\n".join(parts)
