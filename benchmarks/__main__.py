"""Run benchmark modules: ``python -m benchmarks [name] [args...]`` (all modules when no name).

A benchmark is any module in this package whose name does not start with ``_`` and that defines
``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = _modules()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("available:", ", ".join(names))
        return 0
    if argv and not argv[0].startswith("-"):
        if argv[0] not in names:
            print(f"unknown benchmark {argv[0]!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        selected, rest = [argv[0]], argv[1:]
    else:
        selected, rest = names, argv
    status = 0
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        status |= int(module.main(rest))
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
