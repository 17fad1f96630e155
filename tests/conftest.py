from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOONSET_SHARED", REPO.parent / "shared"))
REALDATA = SHARED / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real footage not available ({REALDATA} is absent)")
    return REALDATA


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory) -> list[Path]:
    """Four synthetic cartoons with ground truth, generated once per test session."""
    from toonset.synth import generate_set

    out = tmp_path_factory.mktemp("synth")
    return generate_set(out, count=4, seed=11)
