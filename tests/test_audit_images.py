"""Reading images in every form, and comparing them layer by layer and file by file.

Images are real: docker-archives written here with `tarfile` (as streamLayeredImage writes
them: layers first, manifest.json last; some layers gzip-compressed), and images made by
umoci and converted by skopeo.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cognix import external
from cognix.audit import (
    ConfigChange,
    FileEntry,
    diff_images,
    diff_references,
    hash_image,
    open_image,
    render_json,
    render_text,
    scan_layer,
    to_json,
)
from cognix.errors import InputError

MTIME = 1_700_000_000


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One tar entry to write: a file, folder, symlink, hardlink or fifo."""

    path: str
    content: bytes | None = None
    mode: int = 0o644
    kind: bytes = tarfile.REGTYPE
    link: str = ""


def file(path: str, content: bytes, mode: int = 0o644) -> Entry:
    return Entry(path, content, mode)


def folder(path: str) -> Entry:
    return Entry(path, mode=0o755, kind=tarfile.DIRTYPE)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, mode=0o777, kind=tarfile.SYMTYPE, link=target)


def layer_tar(*entries: Entry) -> bytes:
    """Return an uncompressed layer tar holding `entries`, in that order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.type, info.mode, info.mtime, info.linkname = (
                entry.kind, entry.mode, MTIME, entry.link
            )  # fmt: skip
            info.size = len(entry.content or b"")
            tar.addfile(info, io.BytesIO(entry.content) if entry.content is not None else None)
    return buffer.getvalue()


@dataclass
class Archive:
    """A docker-archive to write: layer tars, which of them to gzip, and the config."""

    layers: list[bytes]
    gzipped: set[int] = field(default_factory=set)
    config: dict[str, Any] = field(default_factory=dict)
    tag: str = "model:v1"


def write_archive(path: Path, archive: Archive) -> Path:
    """Write `archive` as a docker-archive at `path`: layers first, manifest.json last."""
    blobs = [
        gzip.compress(layer, mtime=0) if index in archive.gzipped else layer
        for index, layer in enumerate(archive.layers)
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/run"]},
        **archive.config,
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in archive.layers]},
    }
    config_bytes = json.dumps(config).encode()
    names = [f"{sha256(blob)[7:]}/layer.tar" for blob in blobs]
    config_name = f"{sha256(config_bytes)[7:]}.json"
    manifest = [{"Config": config_name, "RepoTags": [archive.tag], "Layers": names}]
    with tarfile.open(path, "w") as tar:
        for name, data in [*zip(names, blobs, strict=True),
                           (config_name, config_bytes),
                           ("manifest.json", json.dumps(manifest).encode())]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))
    return path


BASE = (
    folder("app"),
    file("app/main.py", b"print('hello')\n"),
    file("app/data.txt", b"hello\n"),
    folder("bin"),
    file("bin/tool", b"#!/bin/sh\n", 0o644),
    symlink("lib.so", "lib.so.1"),
    file("lib.so.1", b"\x7fELF"),
)
BOTTOM = layer_tar(folder("etc"), file("etc/os-release", b"ID=nixos\n"))


def entry(found: FileEntry | None) -> FileEntry:
    assert found is not None
    return found


def replaced(entries: tuple[Entry, ...], path: str, new: Entry | None) -> tuple[Entry, ...]:
    kept = [new if entry.path == path else entry for entry in entries]
    return tuple(entry for entry in kept if entry is not None)


def two_archives(tmp_path: Path, top_b: tuple[Entry, ...], **config_b: Any) -> tuple[Path, Path]:
    """Write image a (BOTTOM + BASE) and image b (BOTTOM + `top_b`), in two files."""
    a = write_archive(tmp_path / "a.tar", Archive([BOTTOM, layer_tar(*BASE)]))
    b = write_archive(tmp_path / "b.tar", Archive([BOTTOM, layer_tar(*top_b)], config=config_b))
    return a, b


class TestDiffHandWritten:
    def test_identical_images_have_no_difference(self, tmp_path: Path) -> None:
        a, b = two_archives(tmp_path, BASE)
        diff = diff_references(str(a), str(b))
        assert diff.identical
        assert [layer.status for layer in diff.layers] == ["same", "same"]
        assert diff.config == ()
        assert render_text(diff).splitlines()[2:] == ["identical"]

    def test_one_byte_change_is_named(self, tmp_path: Path) -> None:
        a, b = two_archives(
            tmp_path, replaced(BASE, "app/data.txt", file("app/data.txt", b"hellp\n"))
        )
        diff = diff_references(str(a), str(b))
        assert not diff.identical
        assert [layer.status for layer in diff.layers] == ["same", "changed"]
        (change,) = diff.layers[1].files
        assert (change.path, change.change, change.fields) == (
            "app/data.txt",
            "changed",
            ("sha256",),
        )
        assert (entry(change.a).sha256, entry(change.b).sha256) == (
            sha256(b"hello\n"),
            sha256(b"hellp\n"),
        )
        short_a, short_b = sha256(b"hello\n")[:19], sha256(b"hellp\n")[:19]
        assert f"  changed  app/data.txt: sha256 {short_a} -> {short_b}" in render_text(diff)

    def test_mode_change_is_named(self, tmp_path: Path) -> None:
        a, b = two_archives(
            tmp_path, replaced(BASE, "bin/tool", file("bin/tool", b"#!/bin/sh\n", 0o755))
        )
        diff = diff_references(str(a), str(b))
        (change,) = diff.layers[1].files
        assert (change.path, change.fields) == ("bin/tool", ("mode",))
        lines = render_text(diff).splitlines()
        layer = diff.layers[1]
        assert layer.a is not None
        assert layer.b is not None
        assert lines[2:] == [
            f"layer 2 of 2 differs: {layer.a.diff_id[:19]} -> {layer.b.diff_id[:19]}",
            "  changed  bin/tool: mode 0644 -> 0755",
            "different: 1 layer, 1 file",
        ]

    def test_symlink_retarget_is_named(self, tmp_path: Path) -> None:
        a, b = two_archives(tmp_path, replaced(BASE, "lib.so", symlink("lib.so", "lib.so.2")))
        (change,) = diff_references(str(a), str(b)).layers[1].files
        assert (change.path, change.fields) == ("lib.so", ("link",))
        assert (entry(change.a).link, entry(change.b).link) == ("lib.so.1", "lib.so.2")

    def test_added_and_removed_files_are_named(self, tmp_path: Path) -> None:
        top = (*replaced(BASE, "app/main.py", None), file("app/new.py", b"x = 1\n"))
        a, b = two_archives(tmp_path, top)
        diff = diff_references(str(a), str(b))
        changes = [(c.path, c.change) for c in diff.layers[1].files]
        assert changes == [("app/main.py", "removed"), ("app/new.py", "added")]
        assert render_text(diff).splitlines()[3:5] == [
            "  removed  app/main.py (file)",
            "  added    app/new.py (file)",
        ]

    def test_whiteouts_are_deletions(self, tmp_path: Path) -> None:
        top = (
            *BASE,
            Entry("etc/.wh.os-release", b""),
            folder("var"),
            Entry("var/.wh..wh..opq", b""),
        )
        a, b = two_archives(tmp_path, top)
        diff = diff_references(str(a), str(b))
        files = diff.layers[1].files
        assert [(c.path, c.change, entry(c.b).type) for c in files] == [
            ("etc/os-release", "added", "whiteout"),
            ("var", "added", "dir"),
            ("var", "added", "opaque"),
        ]
        assert not any(".wh." in c.path for c in files)
        assert render_text(diff).splitlines()[3:6] == [
            "  added    etc/os-release (whiteout: deletes it from the layers below)",
            "  added    var (dir)",
            "  added    var (opaque folder: hides what the layers below have in it)",
        ]

    def test_gzip_layers_read_as_their_tars(self, tmp_path: Path) -> None:
        plain = write_archive(tmp_path / "plain.tar", Archive([BOTTOM, layer_tar(*BASE)]))
        packed = write_archive(
            tmp_path / "gz.tar", Archive([BOTTOM, layer_tar(*BASE)], gzipped={0, 1})
        )
        diff = diff_references(str(plain), str(packed))
        assert diff.identical
        assert [d.compression for d in diff.b.layers] == ["gzip", "gzip"]
        assert diff.b.layers[0].blob_digest == sha256(gzip.compress(BOTTOM, mtime=0))
        assert diff.b.layers[0].diff_id == diff.a.layers[0].diff_id == sha256(BOTTOM)
        assert diff.b.layers[0].size == len(BOTTOM)
        assert diff.a.layers[0].blob_digest is None

    def test_a_differing_gzip_layer_is_listed(self, tmp_path: Path) -> None:
        a = write_archive(tmp_path / "a.tar", Archive([layer_tar(*BASE)], gzipped={0}))
        top = replaced(BASE, "lib.so.1", file("lib.so.1", b"\x7fELG"))
        b = write_archive(tmp_path / "b.tar", Archive([layer_tar(*top)], gzipped={0}))
        (change,) = diff_references(str(a), str(b)).layers[0].files
        assert (change.path, change.fields) == ("lib.so.1", ("sha256",))

    def test_config_differences_are_named(self, tmp_path: Path) -> None:
        a = write_archive(
            tmp_path / "a.tar",
            Archive([BOTTOM], config={"config": {"Env": ["A=1", "B=2"], "Labels": {"v": "1"}}}),
        )
        b = write_archive(
            tmp_path / "b.tar",
            Archive(
                [BOTTOM],
                config={
                    "config": {
                        "Env": ["A=1", "B=3"],
                        "Labels": {"v": "2", "w": "x"},
                        "Entrypoint": ["/bin/sh"],
                    },
                    "created": "2024-01-01T00:00:00Z",
                },
            ),
        )
        diff = diff_references(str(a), str(b))
        assert diff.config == (
            ConfigChange("Entrypoint", None, ["/bin/sh"]),
            ConfigChange("Env[B]", "2", "3"),
            ConfigChange("Labels[v]", "1", "2"),
            ConfigChange("Labels[w]", None, "x"),
            ConfigChange("created", None, "2024-01-01T00:00:00Z"),
        )
        assert [layer.status for layer in diff.layers] == ["same"]
        text = render_text(diff).splitlines()
        assert text[2:4] == ['config Entrypoint: null -> ["/bin/sh"]', 'config Env[B]: "2" -> "3"']
        assert text[-1] == "different: 5 config keys"

    def test_an_extra_layer_is_added(self, tmp_path: Path) -> None:
        a = write_archive(tmp_path / "a.tar", Archive([BOTTOM]))
        b = write_archive(tmp_path / "b.tar", Archive([BOTTOM, layer_tar(file("x", b"1"))]))
        diff = diff_references(str(a), str(b))
        assert [layer.status for layer in diff.layers] == ["same", "added"]
        assert [(c.path, c.change) for c in diff.layers[1].files] == [("x", "added")]
        reverse = diff_references(str(b), str(a))
        assert [layer.status for layer in reverse.layers] == ["same", "removed"]
        assert [(c.path, c.change) for c in reverse.layers[1].files] == [("x", "removed")]

    def test_member_order_alone_is_explained(self, tmp_path: Path) -> None:
        a = write_archive(tmp_path / "a.tar", Archive([layer_tar(*BASE)]))
        b = write_archive(tmp_path / "b.tar", Archive([layer_tar(*reversed(BASE))]))
        (layer,) = diff_references(str(a), str(b)).layers
        assert (layer.status, layer.files) == ("changed", ())
        assert layer.note == "no entry differs: the tars list them in a different order"

    def test_mtime_alone_is_named(self, tmp_path: Path) -> None:
        a = write_archive(tmp_path / "a.tar", Archive([layer_tar(folder("app"))]))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("app")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME + 1
            tar.addfile(info)
        b = write_archive(tmp_path / "b.tar", Archive([buffer.getvalue()]))
        (change,) = diff_references(str(a), str(b)).layers[0].files
        assert (change.path, change.fields) == ("app", ("mtime",))

    def test_json_form_has_stable_keys(self, tmp_path: Path) -> None:
        a, b = two_archives(
            tmp_path, replaced(BASE, "bin/tool", file("bin/tool", b"#!/bin/sh\n", 0o755))
        )
        data = json.loads(render_json(diff_references(str(a), str(b))))
        assert list(data) == ["identical", "a", "b", "config", "layers", "problems"]
        assert list(data["a"]) == ["source", "form", "config_digest", "manifest_digest", "layers"]
        assert list(data["a"]["layers"][0]) == ["diff_id", "size", "blob_digest", "compression"]
        layer = data["layers"][1]
        assert list(layer) == ["position", "status", "a", "b", "files", "note"]
        (change,) = layer["files"]
        assert change["path"] == "bin/tool"
        assert change["change"] == "changed"
        assert change["fields"] == ["mode"]
        assert (change["a"]["mode"], change["b"]["mode"]) == ("0644", "0755")
        assert change["b"] == {
            "path": "bin/tool", "type": "file", "mode": "0755", "uid": 0, "gid": 0,
            "size": 10, "mtime": MTIME, "sha256": sha256(b"#!/bin/sh\n"), "link": None,
            "device": None, "xattrs": {},
        }  # fmt: skip
        assert data["identical"] is False
        assert data["problems"] == []


class TestLayerEntries:
    def test_every_entry_type_is_read(self, tmp_path: Path) -> None:
        entries = (
            folder("./d/"),
            file("./d/f", b"abc", 0o4755),
            symlink("./d/s", "../x"),
            Entry("./d/h", None, 0o644, tarfile.LNKTYPE, "./d/f"),
            Entry("./d/p", None, 0o600, tarfile.FIFOTYPE),
            Entry("./d/.wh.gone", b""),
        )
        archive = write_archive(tmp_path / "a.tar", Archive([layer_tar(*entries)]))
        with open_image(str(archive)) as image:
            contents = scan_layer(image.layers[0])
        assert contents.entries == (
            FileEntry("d", "dir", 0o755, 0, 0, 0, MTIME),
            FileEntry("d/f", "file", 0o4755, 0, 0, 3, MTIME, sha256(b"abc")),
            FileEntry("d/s", "symlink", 0o777, 0, 0, 0, MTIME, link="../x"),
            FileEntry("d/h", "hardlink", 0o644, 0, 0, 0, MTIME, link="d/f"),
            FileEntry("d/p", "fifo", 0o600, 0, 0, 0, MTIME),
            FileEntry("d/gone", "whiteout", 0, 0, 0, 0, 0),
        )
        assert contents.digest.diff_id == sha256(layer_tar(*entries))


class TestErrors:
    def test_a_file_that_is_no_archive(self, tmp_path: Path) -> None:
        (tmp_path / "notes.txt").write_text("hello\n" * 200)
        with pytest.raises(InputError) as caught, open_image(str(tmp_path / "notes.txt")):
            pass
        assert caught.value.message.startswith(
            f"{tmp_path / 'notes.txt'} is not a readable docker-archive or OCI archive"
        )
        assert caught.value.exit_code == 2

    def test_a_tar_that_is_no_image(self, tmp_path: Path) -> None:
        archive = tmp_path / "other.tar"
        archive.write_bytes(layer_tar(file("x", b"1")))
        with pytest.raises(InputError) as caught, open_image(str(archive)):
            pass
        assert caught.value.message == (
            f"{archive} is a tar archive but neither a docker-archive (no manifest.json) "
            "nor an OCI archive (no oci-layout and index.json)"
        )

    def test_a_compressed_archive(self, tmp_path: Path) -> None:
        archive = write_archive(tmp_path / "a.tar", Archive([BOTTOM]))
        packed = tmp_path / "a.tar.gz"
        packed.write_bytes(gzip.compress(archive.read_bytes()))
        with pytest.raises(InputError) as caught, open_image(str(packed)):
            pass
        assert caught.value.message == (
            f"{packed} is a compressed file, not a docker-archive or OCI archive"
        )

    def test_a_folder_that_is_no_layout(self, tmp_path: Path) -> None:
        with pytest.raises(InputError) as caught, open_image(str(tmp_path)):
            pass
        assert caught.value.message == (
            f"{tmp_path} is a folder but not an OCI image layout (no oci-layout or index.json)"
        )

    def test_a_missing_path(self, tmp_path: Path) -> None:
        missing = str(tmp_path / "nope.tar")
        with pytest.raises(InputError) as caught, open_image(missing):
            pass
        assert caught.value.message == (
            f"{missing} is neither an existing file or folder nor an image reference"
        )

    def test_a_truncated_archive(self, tmp_path: Path) -> None:
        archive = write_archive(tmp_path / "a.tar", Archive([layer_tar(*BASE)]))
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) // 2])
        with pytest.raises(InputError) as caught, open_image(str(archive)):
            pass
        assert str(archive) in caught.value.message

    def test_a_layer_unlike_its_diff_id_is_a_problem(self, tmp_path: Path) -> None:
        a = write_archive(tmp_path / "a.tar", Archive([BOTTOM]))
        b = write_archive(tmp_path / "b.tar", Archive([BOTTOM]))
        # Flip one byte of the layer inside b's archive, past the tar headers.
        data = bytearray(b.read_bytes())
        at = data.index(b"ID=nixos")
        data[at] = ord("X")
        b.write_bytes(bytes(data))
        diff = diff_references(str(a), str(b))
        assert not diff.identical
        assert diff.problems == (
            f"b: layer 1 is {sha256(BOTTOM.replace(b'ID=nixos', b'XD=nixos'))} "
            f"but the config declares {sha256(BOTTOM)}",
        )
        (change,) = diff.layers[0].files
        assert (change.path, change.fields) == ("etc/os-release", ("sha256",))


# Images made by umoci and converted by skopeo.


def needs(*programs: str) -> None:
    for program in programs:
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")


Tree = dict[str, bytes | str | tuple[bytes, int]]
"""Files to write: bytes a file, str a symlink's target, (bytes, mode) a file and its mode."""


def umoci_image(layout: Path, tag: str, tree: Tree) -> None:
    """Add image `tag` to `layout`, with one layer holding `tree`, at fixed times."""
    reference = f"{layout}:{tag}"
    if not layout.exists():
        external.run(["umoci", "init", "--layout", str(layout)])
    external.run(["umoci", "new", "--image", reference])
    bundle = layout.parent / f"bundle-{tag}"
    external.run(["umoci", "unpack", "--rootless", "--image", reference, str(bundle)])
    root = bundle / "rootfs"
    for name, value in tree.items():
        if isinstance(value, str):
            (root / name).symlink_to(value)
        else:
            content, mode = value if isinstance(value, tuple) else (value, 0o644)
            (root / name).write_bytes(content)
            (root / name).chmod(mode)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    external.run(["umoci", "repack", "--no-history", "--image", reference, str(bundle)])
    external.run(["umoci", "config", "--no-history", "--image", reference,
                  "--created", "2024-01-01T00:00:00Z", "--config.env", "A=1"])  # fmt: skip


TREE: Tree = {
    "hello.txt": b"hello\n",
    "tool": b"#!/bin/sh\n",
    "link": "hello.txt",
    "old.txt": b"old\n",
}
CHANGED: Tree = {
    "hello.txt": b"hellp\n",
    "tool": (b"#!/bin/sh\n", 0o755),
    "link": "tool",
    "new.txt": b"new\n",
}


@pytest.fixture(scope="module")
def umoci_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layout with images `base`, `same` (as base) and `changed`: one umoci layer each."""
    needs("umoci", "skopeo")
    layout = tmp_path_factory.mktemp("umoci") / "layout"
    umoci_image(layout, "base", TREE)
    umoci_image(layout, "same", TREE)
    umoci_image(layout, "changed", CHANGED)
    return layout


class TestUmociImages:
    def test_the_same_tree_twice_is_identical(self, umoci_layout: Path) -> None:
        diff = diff_references(f"{umoci_layout}:base", f"{umoci_layout}:same")
        assert diff.identical
        assert diff.a.manifest_digest == diff.b.manifest_digest

    def test_changes_are_named(self, umoci_layout: Path) -> None:
        diff = diff_references(f"{umoci_layout}:base", f"{umoci_layout}:changed")
        assert [layer.status for layer in diff.layers] == ["changed"]
        changes = [(c.path, c.change, c.fields) for c in diff.layers[0].files]
        assert changes == [
            ("hello.txt", "changed", ("sha256",)),
            ("link", "changed", ("link",)),
            ("new.txt", "added", ()),
            ("old.txt", "removed", ()),
            ("tool", "changed", ("mode",)),
        ]
        assert diff.config == ()

    def test_a_deletion_on_top_is_a_whiteout(self, umoci_layout: Path, tmp_path: Path) -> None:
        layout = tmp_path / "layout"
        shutil.copytree(umoci_layout, layout)
        bundle = tmp_path / "bundle"
        external.run(["umoci", "unpack", "--rootless", "--image", f"{layout}:base", str(bundle)])
        (bundle / "rootfs" / "old.txt").unlink()
        external.run(["umoci", "repack", "--image", f"{layout}:deleted", str(bundle)])
        diff = diff_references(f"{layout}:base", f"{layout}:deleted")
        assert [layer.status for layer in diff.layers] == ["same", "added"]
        whiteouts = [
            (c.path, c.change) for c in diff.layers[1].files if c.b and c.b.type == "whiteout"
        ]
        assert whiteouts == [("old.txt", "added")]


class TestReadersAgree:
    def test_every_form_gives_the_same_digests(self, umoci_layout: Path, tmp_path: Path) -> None:
        source = f"oci:{umoci_layout}:base"
        docker, oci_archive, directory = tmp_path / "d.tar", tmp_path / "o.tar", tmp_path / "dir"
        for destination in (f"docker-archive:{docker}:m:1", f"oci-archive:{oci_archive}:base",
                            f"dir:{directory}"):  # fmt: skip
            external.run(["skopeo", "--insecure-policy", "copy", "--quiet", source, destination])
        config = external.run(["skopeo", "inspect", "--config", "--raw", source]).stdout
        manifest = external.run(["skopeo", "inspect", "--raw", source]).stdout
        expected_config = sha256(config.encode())
        expected_manifest = sha256(manifest.encode())
        diff_ids = json.loads(config)["rootfs"]["diff_ids"]

        forms = {
            str(docker): ("docker-archive", None),
            f"docker-archive:{docker}:m:1": ("docker-archive", None),
            f"{umoci_layout}:base": ("oci-layout", expected_manifest),
            f"oci:{umoci_layout}:base": ("oci-layout", expected_manifest),
            str(oci_archive): ("oci-archive", expected_manifest),
            f"oci-archive:{oci_archive}": ("oci-archive", expected_manifest),
            f"dir:{directory}": ("oci-layout", expected_manifest),  # through skopeo
        }
        for reference, (form, manifest_digest) in forms.items():
            with open_image(reference) as image:
                found = (image.form, image.config_digest, image.manifest_digest)
                assert found == (form, expected_config, manifest_digest), reference
                assert [digest.diff_id for digest in hash_image(image)] == diff_ids, reference
                assert [layer.declared_diff_id for layer in image.layers] == diff_ids

    def test_docker_archive_and_layout_compare_identical(
        self, umoci_layout: Path, tmp_path: Path
    ) -> None:
        docker = tmp_path / "d.tar"
        external.run(["skopeo", "--insecure-policy", "copy", "--quiet",
                      f"oci:{umoci_layout}:base", f"docker-archive:{docker}:m:1"])  # fmt: skip
        with open_image(str(docker)) as a, open_image(f"oci:{umoci_layout}:base") as b:
            assert diff_images(a, b).identical
            assert to_json(diff_images(a, b))["identical"] is True

    def test_a_layout_of_several_images_needs_a_name(self, umoci_layout: Path) -> None:
        with pytest.raises(InputError) as caught, open_image(str(umoci_layout)):
            pass
        assert caught.value.message == (f"{umoci_layout} holds 3 images (base, changed, same)")
        assert caught.value.hint == f"name one, as {umoci_layout}:NAME"


class TestAuditDiffCommand:
    def test_identical_images_exit_0(self, tmp_path: Path, cognix) -> None:
        a, b = two_archives(tmp_path, BASE)

        result = cognix("audit", "diff", str(a), str(b))

        assert (result.code, result.stdout.splitlines()[-1]) == (0, "identical")

    def test_a_changed_byte_exits_1_naming_the_file(self, tmp_path: Path, cognix) -> None:
        a, b = two_archives(
            tmp_path, replaced(BASE, "app/data.txt", file("app/data.txt", b"hellp\n"))
        )

        result = cognix("audit", "diff", str(a), str(b), "--json")

        assert result.code == 1
        document = json.loads(result.stdout)
        assert document["identical"] is False
        assert [f["path"] for f in document["layers"][1]["files"]] == ["app/data.txt"]

    def test_a_missing_image_exits_2(self, tmp_path: Path, cognix) -> None:
        result = cognix("audit", "diff", str(tmp_path / "nope.tar"), str(tmp_path / "b"))

        assert result.code == 2
        assert result.stderr.splitlines()[0] == (
            f"error: {tmp_path / 'nope.tar'} is neither an existing file or folder nor an "
            "image reference"
        )


class TestHostileImages:
    """Images written to break the reader or the report: each is a clear error or is shown."""

    def test_names_cannot_forge_report_lines_or_reach_the_terminal_raw(
        self, tmp_path: Path
    ) -> None:
        buffer = io.BytesIO()
        # A name that is not UTF-8 is read with surrogateescape: \x9b is a C1 CSI byte.
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name in ("a\nidentical", "\udc9b\tb"):
                info = tarfile.TarInfo(name)
                info.size, info.mtime = 1, MTIME
                tar.addfile(info, io.BytesIO(b"x"))
        top = buffer.getvalue()
        a = write_archive(tmp_path / "a.tar", Archive([BOTTOM]))
        b = write_archive(tmp_path / "b.tar", Archive([BOTTOM, top], config={"config": {}}))
        text = render_text(diff_references(str(a), str(b)))
        assert text.splitlines()[2:] == [
            'config Cmd: ["/bin/run"] -> null',
            'config Env[PATH]: "/bin" -> null',
            f"layer 2 of 2 only in b: {sha256(top)[:19]}",
            "  added    a\\nidentical (file)",
            "  added    \\x9b\\tb (file)",
            "different: 2 config keys, 1 layer, 2 files",
        ]

    @pytest.mark.parametrize(
        ("config", "wrong"),
        [
            ({"config": ["x"]}, "is malformed: its config is not an object"),
            ({"config": {"Env": [1]}}, "is malformed: its config.Env is not a list of strings"),
            ({"config": {"Labels": ["a"]}}, "is malformed: its config.Labels is not an object"),
            ({"created": float("nan")}, "is not JSON: NaN is not a JSON value"),
        ],
    )
    def test_a_config_of_the_wrong_shape(
        self, tmp_path: Path, config: dict[str, Any], wrong: str
    ) -> None:
        path = write_archive(tmp_path / "b.tar", Archive([BOTTOM], config=config))
        with pytest.raises(InputError) as caught, open_image(str(path)):
            pass
        with tarfile.open(path) as tar:
            manifest = tar.extractfile("manifest.json")
            assert manifest is not None
            config_name = json.load(manifest)[0]["Config"]
        assert caught.value.message == f"{path}: {config_name} {wrong}"
        assert caught.value.exit_code == 2

    def test_a_manifest_nested_too_deeply(self, tmp_path: Path) -> None:
        path = tmp_path / "deep.tar"
        data = b"[" * 100_000 + b"]" * 100_000
        with tarfile.open(path, "w") as tar:
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        with pytest.raises(InputError) as caught, open_image(str(path)):
            pass
        assert (
            caught.value.message == f"{path}: manifest.json is not JSON: it is nested too deeply"
        )

    def test_an_mtime_that_is_not_a_number(self, tmp_path: Path) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("f")
            info.pax_headers = {"mtime": "nan"}
            tar.addfile(info, io.BytesIO(b""))
        a = write_archive(tmp_path / "a.tar", Archive([BOTTOM]))
        b = write_archive(tmp_path / "b.tar", Archive([BOTTOM, buffer.getvalue()]))
        with pytest.raises(InputError) as caught:
            diff_references(str(a), str(b))
        assert caught.value.message == f"{b}: layer 2 is not a readable tar: f: its mtime is nan"

    def test_a_stream_tar_keeps_no_headers(self, tmp_path: Path) -> None:
        """A layer of millions of empty files must not keep a TarInfo per file."""
        many = layer_tar(*(file(f"f{number}", b"") for number in range(2000)))
        path = write_archive(tmp_path / "many.tar", Archive([many]))
        kept: list[int] = []
        real_next = tarfile.TarFile.next

        def spying_next(tar: tarfile.TarFile) -> tarfile.TarInfo | None:
            kept.append(len(tar.members))  # type: ignore[attr-defined]
            return real_next(tar)

        with open_image(str(path)) as image:
            tarfile.TarFile.next = spying_next  # type: ignore[method-assign]
            try:
                contents = scan_layer(image.layers[0])
            finally:
                tarfile.TarFile.next = real_next  # type: ignore[method-assign]
        assert len(contents.entries) == 2000
        assert max(kept) <= 1


def test_a_layout_blob_linked_outside_the_layout_is_refused(tmp_path: Path) -> None:
    needs("umoci")
    from cognix import external

    layout = tmp_path / "layout"
    external.run(["umoci", "init", "--layout", str(layout)])
    external.run(["umoci", "new", "--image", f"{layout}:t"])
    index = json.loads((layout / "index.json").read_text())
    manifest_name = index["manifests"][0]["digest"].removeprefix("sha256:")
    blob = layout / "blobs" / "sha256" / manifest_name
    outside = tmp_path / "outside"
    blob.rename(outside)
    blob.symlink_to(outside)

    with pytest.raises(InputError) as caught, open_image(f"{layout}:t"):
        pass

    assert caught.value.message == (
        f"{layout}: blobs/sha256/{manifest_name} links outside the layout"
    )
