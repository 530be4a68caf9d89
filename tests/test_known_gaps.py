"""Known shortcomings, each a strict xfail: it starts failing loudly once the gap closes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognix.config.load import load_project

PREDICTOR = "class Predictor:\n    def predict(self) -> str:\n        return ''\n"


@pytest.mark.xfail(strict=True, reason="cognix.toml [run.N] does not replace run items yet")
def test_run_replacement_accepts_a_refused_command(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\n  run:\n    - git clone https://x.example/r.git /r\n'
        'predict: "predict.py:Predictor"\n'
    )
    (tmp_path / "predict.py").write_text(PREDICTOR)
    (tmp_path / "cognix.toml").write_text("[run.1]\nskip = true\n")

    assert load_project(tmp_path).run_plan.shell_steps == ()


@pytest.mark.xfail(strict=True, reason="YAML merge keys (<<) are not expanded yet")
def test_merge_keys_are_expanded(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text(
        'build:\n  <<: {python_version: "3.11"}\npredict: "predict.py:Predictor"\n'
    )
    (tmp_path / "predict.py").write_text(PREDICTOR)

    assert load_project(tmp_path).config.build.python_version == "3.11"
