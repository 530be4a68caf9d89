"""Suggesting the nearest releases that have a wheel, when a pinned one has none."""

from __future__ import annotations

import pytest
from packaging.tags import Tag
from packaging.version import Version

from cognix.resolve import nearby_wheels
from cognix.resolve.nearby_wheels import _fits, _fitting_tags, _nearest, wheel_suggestion

TARGET = _fitting_tags("3.11", "2_28")


@pytest.mark.parametrize(
    ("tag", "fits"),
    [
        (Tag("cp311", "cp311", "manylinux_2_17_x86_64"), True),
        (Tag("cp311", "cp311", "manylinux_2_31_x86_64"), False),
        (Tag("cp310", "abi3", "manylinux2014_x86_64"), True),
        (Tag("py3", "none", "any"), True),
        (Tag("cp312", "cp312", "manylinux_2_17_x86_64"), False),
        (Tag("cp311", "cp311", "manylinux_2_17_aarch64"), False),
        (Tag("cp311", "cp311", "musllinux_1_1_x86_64"), False),
    ],
)
def test_target_tags(tag: Tag, fits: bool) -> None:
    assert _fits(tag, TARGET) is fits


def test_nearest_takes_two_below_and_two_above() -> None:
    versions = [Version(v) for v in ("1.0", "1.1", "1.2", "1.4", "1.5", "1.6")]
    assert [str(v) for v in _nearest(versions, "1.3")] == ["1.1", "1.2", "1.4", "1.5"]
    assert [str(v) for v in _nearest(versions, None)] == ["1.4", "1.5", "1.6"]


def test_suggestion_names_the_package_and_the_nearest(monkeypatch) -> None:
    monkeypatch.setattr(
        nearby_wheels, "versions_with_wheels", lambda *_: [Version("3.6.0"), Version("3.6.1")]
    )
    reason = "Because matplotlib==3.5.2 has no usable wheels and you require matplotlib==3.5.2"

    assert wheel_suggestion(reason, "3.11", "2_28") == (
        "matplotlib 3.5.2 has no wheel for CPython 3.11 on manylinux_2_28 x86_64;"
        " nearest releases with one: 3.6.0, 3.6.1"
    )


def test_other_failures_get_no_suggestion() -> None:
    assert wheel_suggestion("No solution found: a conflicts with b", "3.11", "2_28") is None


@pytest.mark.network
def test_real_pypi_matplotlib() -> None:
    versions = nearby_wheels.versions_with_wheels("matplotlib", "3.11", "2_28")
    assert Version("3.5.2") not in versions
    assert Version("3.6.0") in versions
