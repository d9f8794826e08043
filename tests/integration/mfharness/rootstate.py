"""The root namespace must come out of a run exactly as it went in: the
daemon only ever runs inside test namespaces, so any change here is a leak
(a daemon that ignored its namespace, or a harness bug). The machine's
/etc/resolv.conf counts as part of it."""

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


# The machine's resolver settings: a daemon pointing "the system resolver"
# at its DNS server must only ever change its namespace's own copy.
FILES = ("/etc/resolv.conf",)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(cannot read: {e.strerror})"


def snapshot():
    out = {}
    for argv in COMMANDS:
        text = run_host(argv, timeout=5).stdout
        out[" ".join(argv)] = _EXPIRES.sub("expires -", text)
    for path in FILES:
        out[path] = _read(path)
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
