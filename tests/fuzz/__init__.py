"""Fuzz targets: garbage in gives a typed refusal, never a crash; valid input always parses.

In the suite each target runs a small, fixed set of examples (derandomized, so a
run is repeatable and quick). A longer, random run is one command:

    VFIO_TUI_FUZZ_EXAMPLES=10000 .venv/bin/python -m pytest -n auto tests/fuzz

(hypothesis prints the seed of a failure; `--hypothesis-seed=N` repeats a run).
Each fuzz test is paired with a generator of valid input that must parse, so a
parser that wrongly refuses good input is caught too.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_LONG = int(os.environ.get("VFIO_TUI_FUZZ_EXAMPLES", "0") or 0)

FUZZ = settings(
    max_examples=_LONG or 40,
    derandomize=not _LONG,  # the suite: a fixed seed; a long run: new inputs each time
    database=None,
    deadline=None,  # a busy machine is not a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
