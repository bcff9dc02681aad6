"""The tree keeps its shape: dependencies flow one way, modules stay small, `--help` stays light.

    ui -> assistant, ingest, evals;   evals -> assistant, ingest;   ingest -> assistant
    nothing in assistant/ imports ingest, evals, ui or Streamlit; only ui/ imports Streamlit.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "ingest", "evals", "ui")
FORBIDDEN = {
    "assistant": ("ingest", "evals", "ui", "streamlit"),
    "ingest": ("evals", "ui", "streamlit"),
    "evals": ("ui", "streamlit"),
}
MAX_LINES = 350
HEAVY = ("sqlalchemy", "torch", "chromadb", "streamlit")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (first dotted name)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_flow_one_way(package):
    wrong = sorted(f"{path.relative_to(ROOT)} imports {name}"
                   for path in modules(package) for name in imported(path)
                   if name.split(".")[0] in FORBIDDEN[package])
    assert wrong == []


def test_no_production_module_is_longer_than_a_few_hundred_lines():
    long = {str(p.relative_to(ROOT)): n for pkg in PACKAGES for p in modules(pkg)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_files_get_in_only_through_the_ingest_entry():
    """Every surface calls `ingest.pipeline.ingest`; nothing else builds the ingestor."""
    builders = [str(p.relative_to(ROOT)) for pkg in ("assistant", "evals", "ui")
                for p in modules(pkg) if "Ingestor(" in p.read_text(encoding="utf-8")]
    assert builders == []


@pytest.mark.parametrize("command", [["--help"], ["assess", "--help"], ["ask", "--help"],
                                     ["eval", "--help"]])
def test_help_loads_none_of_the_heavy_libraries(command):
    probe = ("import json, sys\n"
             f"sys.argv = ['hrdd', *{command!r}]\n"
             "from ui.cli import main\n"
             "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
             f"print(json.dumps({{'code': code, 'loaded': sorted(m for m in {HEAVY!r} "
             "if m in sys.modules)}))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}, done.stderr[-2000:]
    assert "Usage" in done.stdout
