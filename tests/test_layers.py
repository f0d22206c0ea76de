"""The core never imports Textual or the UI: proved in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

import distil_tui.core

CHECK = """
import importlib, pkgutil, sys
import distil_tui.core as core
for mod in pkgutil.walk_packages(core.__path__, "distil_tui.core."):
    importlib.import_module(mod.name)
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith(("textual.", "distil_tui.ui")))
print(",".join(bad))
"""


def test_core_never_imports_textual_or_the_ui():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_ui_never_runs_sql():
    ui = Path(distil_tui.core.__file__).parent.parent / "ui"
    offenders = [
        str(p) for p in ui.rglob("*.py")
        if any(word in p.read_text() for word in ("sqlalchemy", "sqlmodel", "sqlite3"))
    ]
    assert offenders == []
