"""Known shortcomings, each a strict xfail: it starts failing loudly once the gap closes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognix.config.load import load_project

PREDICTOR = "class Predictor:\n    def predict(self) -> str:\n        return ''\n"


@pytest.mark.xfail(strict=True, reason="YAML merge keys (<<) are not expanded yet")
def test_merge_keys_are_expanded(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        'build:\n  <<: {python_version: "3.11"}\npredict: "predict.py:Predictor"\n'
    )
    (tmp_path / "predict.py").write_text(PREDICTOR)

    assert load_project(tmp_path).config.build.python_version == "3.11"
