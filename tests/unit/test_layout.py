"""The layout the design promises (docs/design.md): pure pipelines, few modules at the top of services/,
and no module too long to read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# I/O and service libraries the computations must not import
IO_MODULES = {
    "aiokafka",
    "kafka",
    "faststream",
    "duckdb",
    "prometheus_client",
    "pyarrow",
    "socket",
    "http",
    "urllib",
    "requests",
    "httpx",
    "sqlite3",
    "subprocess",
    "asyncio",
    "rich",
    "uvicorn",
    "fastapi",
}
MAX_LINES = 400
MAX_TOP_MODULES = 8


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines").glob("*.py")), ids=lambda p: p.name)
def test_pipelines_import_no_io_library(path: Path) -> None:
    assert imported(path) & IO_MODULES == set()


def test_imports_are_found_by_the_check() -> None:
    assert {"duckdb", "pyarrow"} <= imported(ROOT / "services" / "store" / "store.py")


def test_few_modules_at_the_top_of_services() -> None:
    top = sorted(p.name for p in (ROOT / "services").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, top


def test_no_module_over_the_limit() -> None:
    long = {}
    for folder in ("schemas", "pipelines", "services", "dashboards", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long[str(path.relative_to(ROOT))] = n
    assert long == {}


# the modules that may set the cyclic garbage collector: its policy, and the processes' entry points
GC_SETTERS = {"services/stream/gcpolicy.py", "services/stream/consumer.py", "services/replay/cli.py"}


def test_only_entry_points_set_the_garbage_collector() -> None:
    setters = set()
    for top in ("services", "pipelines", "schemas"):
        for path in (ROOT / top).rglob("*.py"):
            names = imported(path) | {n.split(".")[-1] for n in _from_names(path)}
            if "gc" in names or names & {"gc_paused", "gc_thresholds"}:
                setters.add(path.relative_to(ROOT).as_posix())
    assert setters == GC_SETTERS


def _from_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}


def test_unit_tests_mirror_the_rooms() -> None:
    """tests/unit/ROOM/ for each room's tests (a top-level package or a services/ subpackage); the files
    left at the top are about the whole project (layout, packaging, settings, logs, the entry point)."""
    rooms = {"pipelines", "schemas", "dashboards"} | {
        p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists()
    }
    folders = {p.name for p in (ROOT / "tests" / "unit").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= rooms, folders - rooms
    assert all((ROOT / "tests" / "unit" / f / "__init__.py").exists() for f in folders)
