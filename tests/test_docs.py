"""The README tours and the docs explain: every page is in the site and linked, every command in them works from
the quick start's .venv, the site builds strictly (CI builds it too). Their examples are doctests (pytest's
--doctest-glob over README.md and docs/)."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_the_readme_is_a_tour_of_at_most_200_lines_that_links_every_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert readme.index("## Quick start") < readme.index("## A tour") < readme.index("## From micrograd") < \
        readme.index("## Documentation")
    for page in PAGES:
        if page.name != "index.md":
            assert f"](docs/{page.name})" in readme, page.name
    assert readme.count("```python") >= 5  # the tour runs (doctests)


def test_every_page_is_in_the_sites_nav_and_has_examples_that_run():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in PAGES:
        assert re.search(rf":\s+{re.escape(page.name)}$", nav, re.M), page.name
    with_examples = [p.name for p in PAGES if ">>> " in p.read_text()]
    assert {"engine.md", "functional.md", "gradcheck.md", "pictures.md", "nn.md", "compile.md",
            "micrograd.md"} <= set(with_examples)


def test_every_command_in_the_pages_runs_from_the_quick_starts_venv():
    for path in [ROOT / "README.md", *PAGES]:
        for block in re.findall(r"```sh\n(.*?)```", path.read_text(), re.S):
            for line in block.splitlines():
                if line.startswith(("python", "pip", "pytest", "mkdocs")):
                    assert line.startswith("python3 -m venv .venv"), (path.name, line)  # else .venv/bin/...


def test_the_docs_site_builds_strictly(tmp_path):
    if shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists():
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]' (CI builds the site)")
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    done = subprocess.run([mkdocs, "build", "--strict", "--quiet", "-d", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "backprop" / "index.html").exists()
