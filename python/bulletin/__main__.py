"""The process's entry point: the `bulletin` script and `python -m bulletin` (in-process callers use
bulletin.cli.main)."""
import gc
import sys


def entry() -> int:
    # Everything the imports make (modules, classes, the spec) lives until exit, so the cyclic collector
    # finds nothing in it: off while importing (about 10 ms of a `run`, by make bench), and frozen after,
    # so later passes over the many openpyxl objects a step makes stop re-walking it (about 40 ms).
    gc.disable()
    try:
        from .cli import main
    finally:
        gc.freeze()
        gc.enable()
    return main()


if __name__ == "__main__":
    sys.exit(entry())
