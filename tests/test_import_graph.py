"""The arrows between the house's rooms (CONTRIBUTING's map), read from the source with ``ast``:
every import counts, a function-level one too, since it is a dependency all the same.

Beam's pipeline API lives only in the Beam wrappers (``transforms.py``,
``<stage>_transforms.py``) and ``bundling.py`` (the DoFn base they share); every
other module is pure and may use only Beam's filesystem layer (how it reaches
``gs://``)."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = REPO / "curation"
CAPABILITIES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
SHARED = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
BEAM_FILESYSTEMS = {"apache_beam.io.filesystem", "apache_beam.io.filesystems", "apache_beam.io.localfilesystem"}


def _imported(path: pathlib.Path) -> set[str]:
    """Every module ``path`` imports, with each ``from m import n`` also read as ``m.n``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _room(module: str) -> str | None:
    """The capability or shared module of ``curation`` that ``module`` lies in, or None outside curation."""
    parts = module.split(".")
    if parts[0] != "curation" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in CAPABILITIES or parts[1] in SHARED else None


def _modules() -> list[pathlib.Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def _room_of_file(path: pathlib.Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def capability_arrows() -> dict[str, set[str]]:
    """``{capability: the other capabilities it imports}``."""
    arrows: dict[str, set[str]] = {c: set() for c in CAPABILITIES}
    for path in _modules():
        source = _room_of_file(path)
        if source not in arrows:
            continue
        arrows[source] |= {r for r in map(_room, _imported(path)) if r in CAPABILITIES and r != source}
    return arrows


def _cycle(arrows: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as a path from a node back to itself, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(arrows.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target] if target in path else [node, target]
            if target not in state:
                found = visit(target, path + [target])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(arrows):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_between_capabilities():
    arrows = capability_arrows()
    assert {"reading", "dedup", "writing", "provenance"} <= set(arrows)  # the scan sees the package
    cycle = _cycle(arrows)
    assert cycle is None, "capabilities import each other in a cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("shared", SHARED)
def test_shared_modules_import_no_capability(shared):
    imported = {_room(m) for m in _imported(PACKAGE / f"{shared}.py")}
    assert not imported & set(CAPABILITIES), f"curation/{shared}.py sits below the capabilities and imports one"


def _is_beam_wrapper(path: pathlib.Path) -> bool:
    return path.name.endswith("transforms.py") or path.relative_to(PACKAGE) == pathlib.Path("bundling.py")


def _beam_api(imported: set[str]) -> set[str]:
    beam = {m for m in imported if m == "apache_beam" or m.startswith("apache_beam.")}
    return {m for m in beam if not any(m == fs or m.startswith(fs + ".") for fs in BEAM_FILESYSTEMS)}


def test_pure_modules_import_no_beam_pipeline_api():
    wrappers = [p for p in _modules() if _is_beam_wrapper(p)]
    assert len(wrappers) >= 8 and all(_beam_api(_imported(p)) for p in wrappers if p.name == "transforms.py")
    impure = {str(p.relative_to(PACKAGE)): sorted(_beam_api(_imported(p))) for p in _modules() if not _is_beam_wrapper(p)}
    assert {k: v for k, v in impure.items() if v} == {}


def documented_arrows() -> dict[str, set[str]]:
    """CONTRIBUTING's list of arrows: lines ``- `a` → `b`, `c``` under its heading."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    section = text.split("### Arrows between capabilities", 1)[1].split("\n#", 1)[0]
    arrows = {}
    for source, targets in re.findall(r"^- `(\w+)` → (.+)$", section, re.MULTILINE):
        arrows[source] = set(re.findall(r"`(\w+)`", targets))
    return arrows


def test_contributing_lists_exactly_the_arrows_the_code_has():
    documented = documented_arrows()
    assert documented, "CONTRIBUTING.md lists no arrows under 'Arrows between capabilities'"
    actual = {source: targets for source, targets in capability_arrows().items() if targets}
    assert actual == documented
