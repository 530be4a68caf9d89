"""Tests for cognix.predict.outputs: what a prediction's output becomes, and `-o`."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cognix.errors import InputError, JobFailed
from cognix.predict import outputs
from cognix.predict.outputs import ShownOutput, check_destination, show_output, write_file

TEXT: dict[str, Any] = {"type": "string"}
FILE: dict[str, Any] = {"type": "string", "format": "uri"}
FILES: dict[str, Any] = {"type": "array", "items": FILE}
OBJECT: dict[str, Any] = {"type": "object"}


def schema_of(output: dict[str, Any]) -> dict[str, Any]:
    """Wrap an `Output` component in the OpenAPI document a predictor has."""
    return {"components": {"schemas": {"Output": {"title": "Output", **output}}}}


def data_url(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def show(output: Any, declared: dict[str, Any], directory: Path, to: Path | None = None) -> Any:
    return show_output(output, schema_of(declared), to, directory)


class TestShowOutput:
    def test_text_that_looks_like_a_data_url_is_printed(self, tmp_path: Path) -> None:
        assert show("data:,hello", TEXT, tmp_path) == ShownOutput("data:,hello")
        assert list(tmp_path.iterdir()) == []

    def test_file_is_written_as_output_with_its_extension(self, tmp_path: Path) -> None:
        shown = show(data_url(b"png"), FILE, tmp_path)
        assert shown == ShownOutput(None, [tmp_path / "output.png"])
        assert (tmp_path / "output.png").read_bytes() == b"png"

    def test_percent_encoded_data_url(self, tmp_path: Path) -> None:
        shown = show("data:text/plain,a%20b", FILE, tmp_path)
        assert shown.files == [tmp_path / "output.txt"]
        assert (tmp_path / "output.txt").read_bytes() == b"a b"

    def test_file_goes_to_the_destination(self, tmp_path: Path) -> None:
        shown = show(data_url(b"png"), FILE, tmp_path, tmp_path / "cat.img")
        assert shown.files == [tmp_path / "cat.img"]
        assert (tmp_path / "cat.img").read_bytes() == b"png"

    def test_list_of_files_is_numbered(self, tmp_path: Path) -> None:
        shown = show([data_url(b"0"), data_url(b"1")], FILES, tmp_path)
        assert shown.files == [tmp_path / "output.0.png", tmp_path / "output.1.png"]
        assert (tmp_path / "output.1.png").read_bytes() == b"1"

    def test_list_of_files_uses_the_destination_as_pattern(self, tmp_path: Path) -> None:
        shown = show([data_url(b"0"), data_url(b"1")], FILES, tmp_path, tmp_path / "out.png")
        assert shown.files == [tmp_path / "out.0.png", tmp_path / "out.1.png"]
        assert [path.read_bytes() for path in shown.files] == [b"0", b"1"]
        assert not (tmp_path / "out.png").exists()

    def test_pattern_without_extension_takes_the_files_own(self, tmp_path: Path) -> None:
        shown = show([data_url(b"0", "text/plain")], FILES, tmp_path, tmp_path / "out")
        assert shown.files == [tmp_path / "out.0.txt"]

    def test_file_output_that_is_a_url_is_printed(self, tmp_path: Path) -> None:
        url = "https://example.com/cat.png"
        assert show(url, FILE, tmp_path) == ShownOutput(url)

    def test_empty_list_of_files_is_printed(self, tmp_path: Path) -> None:
        assert show([], FILES, tmp_path) == ShownOutput("[]")

    def test_other_values_are_printed_as_json(self, tmp_path: Path) -> None:
        assert show({"a": [1, 2]}, OBJECT, tmp_path).text == '{\n  "a": [\n    1,\n    2\n  ]\n}'

    def test_json_keeps_utf8_and_escapes_html_as_cog_predict_does(self, tmp_path: Path) -> None:
        shown = show(["héllo", "a<b & c>d", "x\u2028y"], OBJECT, tmp_path)

        assert shown.text == ('[\n  "héllo",\n  "a\\u003cb \\u0026 c\\u003ed",\n  "x\\u2028y"\n]')

    def test_text_goes_to_the_destination(self, tmp_path: Path) -> None:
        shown = show("hello", TEXT, tmp_path, tmp_path / "out.txt")
        assert shown == ShownOutput(None, [tmp_path / "out.txt"])
        assert (tmp_path / "out.txt").read_text() == "hello\n"


class TestCheckDestination:
    def test_accepts_none_and_a_new_file(self, tmp_path: Path) -> None:
        check_destination(None)
        check_destination(tmp_path / "new.png")

    def test_rejects_a_directory(self, tmp_path: Path) -> None:
        with pytest.raises(InputError) as caught:
            check_destination(tmp_path)
        assert caught.value.message == f"-o {tmp_path} is a directory"
        assert caught.value.exit_code == 2

    def test_rejects_a_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(InputError) as caught:
            check_destination(tmp_path / "nowhere" / "x.txt")
        message = f"-o {tmp_path}/nowhere/x.txt: the folder {tmp_path}/nowhere does not exist"
        assert caught.value.message == message

    def test_rejects_a_file_as_folder(self, tmp_path: Path) -> None:
        (tmp_path / "plain").write_text("x")
        with pytest.raises(InputError) as caught:
            check_destination(tmp_path / "plain" / "x.txt")
        assert caught.value.message.endswith(f"{tmp_path}/plain is not a directory")

    @pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
    def test_rejects_a_read_only_folder(self, tmp_path: Path) -> None:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        with pytest.raises(InputError) as caught:
            check_destination(locked / "x.txt")
        assert caught.value.message == f"-o {locked}/x.txt: cannot create files in {locked}"

    def test_rejects_a_link_into_a_missing_folder(self, tmp_path: Path) -> None:
        (tmp_path / "link").symlink_to(tmp_path / "nowhere" / "x.txt")
        with pytest.raises(InputError) as caught:
            check_destination(tmp_path / "link")
        assert caught.value.message == (
            f"-o {tmp_path}/link is a link to {tmp_path}/nowhere/x.txt, "
            "whose folder does not exist"
        )
        assert caught.value.hint == "remove the link, or give another path"

    def test_rejects_a_link_to_itself(self, tmp_path: Path) -> None:
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        with pytest.raises(InputError) as caught:
            check_destination(tmp_path / "loop")
        assert caught.value.message == f"-o {tmp_path}/loop is a link that leads to itself"

    def test_accepts_a_link_to_a_new_file(self, tmp_path: Path) -> None:
        (tmp_path / "link").symlink_to(tmp_path / "new.txt")
        check_destination(tmp_path / "link")


class TestMalformedOutputSchema:
    def test_an_output_that_is_no_object_is_a_job_failure(self, tmp_path: Path) -> None:
        schema = {"components": {"schemas": {"Output": ["string"]}}}
        with pytest.raises(JobFailed) as caught:
            show_output("x", schema, None, tmp_path)
        assert caught.value.message == (
            "the model's OpenAPI schema is malformed: Output is not a JSON object"
        )

    def test_items_that_are_no_object_mean_no_files(self, tmp_path: Path) -> None:
        schema = {"components": {"schemas": {"Output": {"type": "array", "items": 3}}}}
        shown = show_output(["data:text/plain,x"], schema, None, tmp_path)
        assert shown == ShownOutput('[\n  "data:text/plain,x"\n]')


class TestWriteFile:
    def test_replaces_a_file_and_leaves_no_temporary(self, tmp_path: Path) -> None:
        target = tmp_path / "out.bin"
        target.write_bytes(b"old")
        assert write_file(target, b"new") == target
        assert target.read_bytes() == b"new"
        assert list(tmp_path.iterdir()) == [target]

    def test_new_file_gets_the_umask_mode(self, tmp_path: Path) -> None:
        umask = os.umask(0o022)
        try:
            write_file(tmp_path / "out.bin", b"x")
        finally:
            os.umask(umask)
        assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644

    def test_a_replaced_file_keeps_its_mode(self, tmp_path: Path) -> None:
        target = tmp_path / "out.bin"
        target.write_bytes(b"old")
        target.chmod(0o600)
        write_file(target, b"new")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def test_failed_replace_keeps_the_old_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        target = tmp_path / "out.bin"
        target.write_bytes(b"old")

        def fail(source: object, destination: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(outputs.os, "replace", fail)
        with pytest.raises(JobFailed) as caught:
            write_file(target, b"new")
        assert caught.value.message == f"cannot write {target}: No space left on device"
        assert target.read_bytes() == b"old"
        assert list(tmp_path.iterdir()) == [target]

    def test_missing_folder_is_a_job_failure_naming_the_path(self, tmp_path: Path) -> None:
        target = tmp_path / "gone" / "out.bin"
        with pytest.raises(JobFailed) as caught:
            write_file(target, b"x")
        assert caught.value.message == f"cannot write {target}: No such file or directory"

    def test_writes_through_a_symlink(self, tmp_path: Path) -> None:
        (tmp_path / "real.bin").write_bytes(b"old")
        (tmp_path / "link.bin").symlink_to("real.bin")
        write_file(tmp_path / "link.bin", b"new")
        assert (tmp_path / "link.bin").is_symlink()
        assert (tmp_path / "real.bin").read_bytes() == b"new"

    def test_a_device_is_written_in_place_not_replaced(self) -> None:
        write_file(Path("/dev/null"), b"x")
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)

    @pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
    def test_a_full_device_is_a_job_failure(self) -> None:
        with pytest.raises(JobFailed) as caught:
            write_file(Path("/dev/full"), b"x")
        assert caught.value.message == "cannot write /dev/full: No space left on device"
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
