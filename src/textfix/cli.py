"""The textfix command. (stub, to be written)"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import textfix

    args = sys.argv[1:] if argv is None else argv
    paths = [a for a in args if not a.startswith("-") and a != "fix"]
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            sys.stdout.write(textfix.fix_text(fh.read(), to_simplified="--to-simplified" in args))
    return 0
