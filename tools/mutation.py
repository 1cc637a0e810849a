"""`make mutation`: mutmut over the pure core and engine.py against the fast tests; the score per module and
every surviving mutant.

mutmut names a mutant after its file's path with a leading "src/" dropped, so a package under python/ would
be recorded as `python.bulletin…` while the tests import `bulletin…` (every mutant then has "no tests"). The
run therefore happens in a staged copy, build/mutation/<modules>/ (build/mutation/all/ for every module), where
the package sits at the top (bulletin/, with templates/ as its packaged bulletin/_templates) beside tests/ and
examples/. The checkout is never mutated.

    python tools/mutation.py                      # every module of core/ and engine.py
    python tools/mutation.py numbers compare      # only these modules (core/<name>.py or engine)
    python tools/mutation.py --report             # the figures of the last run, without running
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutation"
# The fast tests: the core's unit tests, on records and small sheets made in the test (only test_rules.py's two
# June tests read the sample; none starts a process or a server). Each mutant runs only the ones that reach the
# mutated function (mutmut records which), stopping at the first failure. The workbook-level tests
# (test_compare, test_intake, test_validation_rules, test_reference_june, test_history_*) would multiply the
# run's time on a shared 2-core machine.
FAST_TESTS = ["test_numbers_core.py", "test_properties.py", "test_rule_thresholds.py", "test_validate_core.py",
              "test_rules_core.py", "test_compare_core.py", "test_engine_core.py", "test_rules.py",
              "test_registry.py", "test_spec.py"]
TARGETS = sorted(p.stem for p in (ROOT / "python" / "bulletin" / "core").glob("*.py") if p.stem != "__init__")
TARGETS.append("engine")
KILLED = {1, 3}  # a failing test, pytest's internal error (a timeout is listed apart, not counted as killed)
TIMEOUT = {36, -24, 24, 152, 255}


def _path(module: str) -> str:
    return "bulletin/engine.py" if module == "engine" else f"bulletin/core/{module}.py"


def stage_dir(modules: list[str]) -> Path:
    return BUILD / ("all" if modules == TARGETS else "-".join(modules))


def stage(modules: list[str]) -> None:
    """A fresh copy of the package, tests and samples, and the mutmut configuration for these modules."""
    where = stage_dir(modules)
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(ROOT / "python" / "bulletin", where / "bulletin", ignore=ignore)
    shutil.copytree(ROOT / "templates", where / "bulletin" / "_templates", ignore=ignore)
    shutil.copytree(ROOT / "tests", where / "tests", ignore=ignore)
    shutil.copytree(ROOT / "examples", where / "examples", ignore=ignore)
    tests = [f"tests/{t}" for t in FAST_TESTS if (ROOT / "tests" / t).exists()]
    lines = ["[mutmut]", "source_paths = bulletin", "only_mutate =", *(f"    {_path(m)}" for m in modules),
             "also_copy =", "    examples/", "pytest_add_cli_args_test_selection =", *(f"    {t}" for t in tests),
             "pytest_add_cli_args =", "    -p", "    no:cacheprovider",
             "", "[tool:pytest]", "addopts = -q", ""]
    (where / "setup.cfg").write_text("\n".join(lines), encoding="utf-8")


def report(modules: list[str]) -> int:
    """Score per module (killed / mutants that tests reach or not) and the surviving mutants' names."""
    where = stage_dir(modules)
    survivors, rows = [], []
    for module in modules:
        meta = where / "mutants" / (_path(module) + ".meta")
        if not meta.exists():
            rows.append((module, None, Counter()))
            continue
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        kinds = Counter("killed" if c in KILLED else "survived" if c == 0 else "no tests" if c in (5, 33)
                        else "timeout" if c in TIMEOUT else "not checked" if c is None else f"other({c})"
                        for c in codes.values())
        rows.append((module, len(codes), kinds))
        survivors += sorted(k for k, c in codes.items() if c == 0 or c in (5, 33))
    print(f"\n{'module':<12} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'score':>7}")
    for module, total, kinds in rows:
        if total is None:
            print(f"{module:<12} (not run)")
            continue
        score = f"{100 * kinds['killed'] / total:.1f}%" if total else "-"
        other = {k: v for k, v in kinds.items() if k not in ("killed", "survived", "no tests")}
        print(f"{module:<12} {total:>7} {kinds['killed']:>7} {kinds['survived']:>8} {kinds['no tests']:>8} "
              f"{score:>7}" + (f"  {other}" if other else ""))
    show = f"cd {where.relative_to(ROOT)} && ../../../.venv/bin/mutmut show NAME"
    print(f"\nsurviving mutants ({len(survivors)}; `{show}` shows one):")
    for name in survivors:
        print("  " + name)
    return 0


def main(argv: list[str]) -> int:
    only_report = "--report" in argv
    modules = [a for a in argv if not a.startswith("--")] or TARGETS
    unknown = [m for m in modules if m not in TARGETS]
    if unknown:
        print(f"unknown module(s) {unknown}; choose from {TARGETS}", file=sys.stderr)
        return 2
    if not only_report:
        stage(modules)
        mutmut = Path(sys.executable).with_name("mutmut")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the staged copy, not the checkout
        env["HYPOTHESIS_PROFILE"] = "mutation"  # fewer examples per property: each mutant reruns them
        run = subprocess.run([str(mutmut), "run"], cwd=stage_dir(modules), env=env)
        if run.returncode not in (0, 1):
            return run.returncode
    return report(modules)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
