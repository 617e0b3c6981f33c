"""A tiny synthetic archive for running the smoke studies for real."""

from pathlib import Path

import pytest

from fncssl.data.synth import write_synthetic_archive


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All three collections, 4 labelled + 2 unlabelled 192x160 images each (read-only)."""
    out = tmp_path_factory.mktemp("tiny") / "archive"
    return write_synthetic_archive(
        out, labelled=4, unlabelled=2, size=(192, 160), seed=1, workers=2
    )
