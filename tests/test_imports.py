"""The simulator stays behind its transport: only transport/sim.py and hosts.py import `sim`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vfio_tui"
MAY_IMPORT_SIM = {PACKAGE / "transport" / "sim.py", PACKAGE / "transport" / "hosts.py"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports in functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_module_outside_the_simulated_transport_imports_sim() -> None:
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            m for m in imported_modules(path) if m == "sim" or m.startswith("sim.")
        )
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in MAY_IMPORT_SIM
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_model_imports_no_io_and_no_textual() -> None:
    banned = ("textual", "asyncio", "asyncssh", "socket", "subprocess", "sim", "vfio_tui.ui")
    for path in sorted((PACKAGE / "model").rglob("*.py")):
        bad = [m for m in imported_modules(path) if m.split(".")[0] in banned or m in banned]
        assert bad == [], path.name


def loaded_after(imports: str, *, top: str) -> list[str]:
    """The modules of package `top` that a fresh interpreter has loaded after `imports`."""
    code = (
        f"import sys\nimport {imports}\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == {top!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
        timeout=120,
    )
    return [name for name in done.stdout.strip().split(",") if name]


def test_loading_the_app_session_verdict_and_watch_does_not_load_the_simulator() -> None:
    imports = (
        "vfio_tui.services.session, vfio_tui.ui.app, vfio_tui.model.verdict, "
        "vfio_tui.services.watch, vfio_tui.services.snapshot, vfio_tui.cli"
    )
    assert loaded_after(imports, top="sim") == []


def test_the_verdict_loads_without_textual() -> None:
    assert loaded_after("vfio_tui.model.verdict, vfio_tui.services.watch", top="textual") == []
