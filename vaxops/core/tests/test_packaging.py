"""The install prints no setuptools deprecation warning: the licence is an SPDX expression (PEP 639) with
existing licence files, built by a setuptools that reads it (77 or later)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_licence_is_an_spdx_string_with_files_that_exist():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "AGPL-3.0-or-later"
    files = project["project"]["license-files"]
    assert files and all((ROOT / f).is_file() for f in files)
    assert "setuptools>=77" in project["build-system"]["requires"]
