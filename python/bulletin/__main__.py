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
        # openpyxl (and numpy under it) first, from the top of the stack: imported from inside the chain of
        # our own modules, its import-time loops ran where CPython 3.11 keeps allocating and freeing a frame
        # stack chunk (hundreds of mmap/munmap pairs, 5-13 ms by make bench, depending on the launcher)
        import openpyxl  # noqa: F401

        from .cli import main
    finally:
        gc.freeze()
        gc.enable()
    return main()


if __name__ == "__main__":
    sys.exit(entry())
