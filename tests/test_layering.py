"""The layout's promise, kept by a test: the core imports only the core (and the spec and errors), adapters
translate and import no configuration, port, action or front end, ports sit below the actions, no front end
is imported by the layers under it, no private name crosses modules, and there is no import cycle —
imports inside functions included."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "bulletin"

# layer -> the layers it may import (every layer may import itself)
LEAVES = {"spec", "errors", "resources"}
ALLOWED = {
    "errors": set(),
    "resources": set(),
    "spec": {"errors"},
    "core": {"spec", "errors"},
    "config": {"core", "spec", "errors", "resources"},
    "adapters": {"core", "spec", "errors", "resources"},
    "narrative": {"core", "spec", "errors", "resources", "config"},
    "engine": {"core", "spec", "errors", "resources", "config", "narrative"},
    "ports": {"adapters", "core", "spec", "errors", "resources"},
    "actions": {"ports", "adapters", "core", "spec", "errors", "resources", "config", "narrative", "engine"},
    "frontend": {"actions", "ports", "adapters", "core", "spec", "errors", "resources", "config", "engine",
                 "narrative", "frontend"},
    "build": {"actions", "ports", "adapters", "core", "spec", "errors", "resources", "config", "engine",
              "narrative", "frontend"},
}
FRONT_ENDS = {"cli", "excel", "console", "__main__"}


def module_name(path: Path) -> str:
    parts = ["bulletin", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else "package"
    if top in FRONT_ENDS:
        return "frontend"
    return top if top in ALLOWED else "package"


def imports(module: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) of every import in the module, nested ones included."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("bulletin")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not source.startswith("bulletin"):
                continue
            for a in node.names:
                sub = f"{source}.{a.name}"
                out.append((sub, "", node.lineno) if sub in MODULES else (source, a.name, node.lineno))
    return out


def test_every_import_goes_the_right_way():
    wrong = []
    for module in MODULES:
        mine = layer(module)
        for target, _, line in imports(module):
            theirs = layer(target)
            if theirs != mine and theirs not in ALLOWED.get(mine, set()) and theirs != "package":
                wrong.append(f"{module}:{line} ({mine}) imports {target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_crosses_modules():
    crossing = [f"{module}:{line} imports {name} from {target}" for module in MODULES
                for target, name, line in imports(module) if name.startswith("_") and target != module]
    assert not crossing, "\n".join(crossing)


def test_no_import_cycle():
    graph = {m: {t for t, _, _ in imports(m) if t in MODULES and t != m} for m in MODULES}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    assert not cycles, cycles


def test_the_check_itself_sees_imports():
    """The parser must find the imports it judges (a broken walk would pass every test above)."""
    found = {t for t, _, _ in imports("bulletin.actions.month")}
    assert "bulletin.ports.openpyxl_port" in found and "bulletin.engine" in found
    assert layer("bulletin.console.app") == "frontend" and layer("bulletin.core.intake") == "core"
