import pathlib
import re

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _name(requirement):
    """'tensorflow[and-cuda]>=2.21' -> 'tensorflow' (normalised like pip does)."""
    name = re.match(r"[A-Za-z0-9_.\-]+", requirement.strip()).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("book", "dev"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip |= {_name(r) for r in entry["pip"] if not r.startswith("-e")}
        else:
            conda.add(_name(entry))
    conda -= {"python", "pip"}
    assert conda | pip == wanted
    assert any(r.replace(" ", "") == "-e.[book,dev]" for e in environment["dependencies"]
               if isinstance(e, dict) for r in e["pip"])


def test_pyproject_bounds_every_dependency():
    project = _pyproject()["project"]
    for requirement in project["dependencies"]:
        assert ">=" in requirement and "<" in requirement, requirement
    assert any(r.startswith("jupyter-book>=1.0.4,<2")
               for r in project["optional-dependencies"]["book"])
    assert any("tensorflow[and-cuda]" in r for r in project["optional-dependencies"]["gpu"])


def test_bundled_data_is_declared_package_data():
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]
    data_dir = ROOT / "course_lib" / "datasets" / "data"
    declared = {p.name for pattern in package_data["course_lib.datasets"]
                for p in (ROOT / "course_lib" / "datasets").glob(pattern)}
    assert declared == {p.name for p in data_dir.glob("*.gz")} and len(declared) == 2


def test_shipped_weights_are_declared_package_data():
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]
    for package in ("course_lib.metrics", "course_lib.generative"):
        folder = ROOT.joinpath(*package.split("."))
        declared = {p for pattern in package_data[package] for p in folder.glob(pattern)}
        shipped = {p for p in (folder / "weights").iterdir() if p.suffix in (".keras", ".json")}
        assert declared == shipped and declared, package
