"""The wheel and the image hold every package: setuptools' discovery finds every folder of Python code
(none lacks its __init__.py), the data files are read through importlib.resources and declared as package
data, and the Dockerfile's build stage copies every top-level package and the files pyproject.toml needs.
scripts/wheel-test.sh (run by make test) installs the real wheel and runs every command from it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FIND = PYPROJECT["tool"]["setuptools"]["packages"]["find"]


def packages() -> list[str]:
    return sorted(find_packages(where=str(ROOT), include=FIND["include"]))


def test_every_folder_of_code_is_a_package_the_wheel_finds() -> None:
    found = set(packages())
    for top in {p.split(".")[0] for p in found}:
        for folder in (ROOT / top).rglob("*"):
            if folder.is_dir() and any(folder.glob("*.py")):
                name = ".".join(folder.relative_to(ROOT).parts)
                assert name in found, f"{name} has no __init__.py: the wheel would leave it out"
    assert {"services.stream", "services.store", "services.views.report", "services.ingest"} <= found


def test_data_files_are_package_data() -> None:
    declared = PYPROJECT["tool"]["setuptools"]["package-data"]
    for package, patterns in declared.items():
        base = ROOT.joinpath(*package.split("."))
        for pattern in patterns:
            assert list(base.glob(pattern)), f"{package}: {pattern} matches nothing"
    sql = {p.name for p in (ROOT / "services/store/sql").glob("*.sql")}
    assert sql == {"contract_fields.sql", "fcr.sql", "measures.sql", "validate.sql"}
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        assert "Path(__file__).parent /" not in path.read_text(), f"{path}: read data through importlib.resources"


def test_dockerfile_build_stage_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text()
    build = text.split("FROM ", 2)[1]  # the first stage
    copied = {src for line in build.splitlines() if line.startswith("COPY ") for src in line.split()[1:-1]}
    tops = {p.split(".")[0] for p in packages()}
    assert tops <= copied, tops - copied
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= copied
    assert "USER contactpulse" in text and "HEALTHCHECK" in text and "/healthz" in text
    assert "--from=build" in text and text.count("FROM ") == 2
