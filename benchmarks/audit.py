"""Measure `audit diff` on two large generated images against `sha256sum` over the same bytes.

Run from the repository root with the project installed (`pip install -e .`):

    python benchmarks/audit.py [--gigabytes 2] [--layers 4] [--dir /tmp]

Writes two docker-archives of about `--gigabytes` each, with `--layers` layers of random
files: every layer the same in both but the top one, where one file differs. Then, in one
run, times `sha256sum A B` and the diff of A and B (in a child process, which reports its
peak resident memory), and prints both throughputs and their ratio. The goal is a diff at
least 80% as fast as sha256sum, in under 200 MB of memory. It needs about 2.5 times
`--gigabytes` of free space in `--dir`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from cognix import external

MiB = 1 << 20
FILE_SIZE = 64 * MiB


def write_layer(path: Path, size: int, seed: int) -> None:
    """Write a layer tar of about `size` bytes of random files, made from `seed`."""
    generator = random.Random(seed)
    with tarfile.open(path, "w") as tar:
        for number in range(max(1, size // FILE_SIZE)):
            data = generator.randbytes(FILE_SIZE)
            info = tarfile.TarInfo(f"data/file-{number:03}.bin")
            info.size, info.mtime = len(data), 1
            tar.addfile(info, io.BytesIO(data))


def write_archive(path: Path, layers: list[Path]) -> None:
    """Write a docker-archive of `layers` (layers first, manifest.json last, as Nix does)."""
    diff_ids = [external.run(["sha256sum", str(layer)]).stdout.split()[0] for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
        }
    ).encode()
    names = [f"{digest}/layer.tar" for digest in diff_ids]
    manifest = [{"Config": "config.json", "RepoTags": ["big:1"], "Layers": names}]
    with tarfile.open(path, "w") as tar:
        for name, layer in zip(names, layers, strict=True):
            tar.add(layer, arcname=name)
        for name, data in (("config.json", config), ("manifest.json", json.dumps(manifest))):
            encoded = data if isinstance(data, bytes) else data.encode()
            info = tarfile.TarInfo(name)
            info.size = len(encoded)
            tar.addfile(info, io.BytesIO(encoded))


def generate(work: Path, gigabytes: float, count: int) -> tuple[Path, Path]:
    """Write images a and b into `work`; they differ in one file of their top layer."""
    layer_size = int(gigabytes * 1024 * MiB) // count
    shared = [work / f"layer-{number}.tar" for number in range(count - 1)]
    for number, layer in enumerate(shared):
        write_layer(layer, layer_size, seed=number)
    top_a, top_b = work / "top-a.tar", work / "top-b.tar"
    write_layer(top_a, layer_size, seed=100)
    write_layer(top_b, layer_size, seed=100)
    # One byte of one file of b's top layer differs, deep inside the layer.
    with top_b.open("r+b") as handle:
        handle.seek(layer_size // 2)
        byte = handle.read(1)
        handle.seek(layer_size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    a, b = work / "a.tar", work / "b.tar"
    write_archive(a, [*shared, top_a])
    write_archive(b, [*shared, top_b])
    for layer in [*shared, top_a, top_b]:
        layer.unlink()
    return a, b


def child(a: str, b: str) -> None:
    """Diff `a` and `b` in this process; print what differs, the time and peak memory."""
    from cognix.audit import diff_references

    start = time.perf_counter()
    diff = diff_references(a, b)
    seconds = time.perf_counter() - start
    files = [(c.path, c.fields) for layer in diff.layers for c in layer.files]
    print(json.dumps({"seconds": seconds, "peak_bytes": peak_memory(), "files": files}))


def peak_memory() -> int:
    """Return this process's peak resident memory, in bytes.

    Linux carries ru_maxrss over exec from the process that forked (here a parent that
    held the generated layers' buffers), so VmHWM, which starts afresh at exec, is read
    where there is one.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    """Generate the images, time both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--child", nargs=2, metavar=("A", "B"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
        return

    with tempfile.TemporaryDirectory(prefix="cognix-audit-bench-", dir=arguments.dir) as work:
        started = time.perf_counter()
        a, b = generate(Path(work), arguments.gigabytes, arguments.layers)
        total = a.stat().st_size + b.stat().st_size
        print(
            f"generated 2 images, {total / MiB:.0f} MiB, in {time.perf_counter() - started:.0f} s"
        )
        # Read both once, so that both timed runs find them in the page cache alike.
        with open(os.devnull, "wb") as nowhere:
            external.run_to_file(["cat", str(a), str(b)], nowhere)

        start = time.perf_counter()
        external.run(["sha256sum", str(a), str(b)])
        sha256sum = time.perf_counter() - start

        start = time.perf_counter()
        found = external.run([sys.executable, __file__, "--child", str(a), str(b)])
        wall = time.perf_counter() - start
        report = json.loads(found.stdout)

    print(f"sha256sum: {sha256sum:.2f} s, {total / MiB / sha256sum:.0f} MiB/s")
    print(f"diff:      {wall:.2f} s, {total / MiB / wall:.0f} MiB/s (process start included)")
    print(f"ratio:     {sha256sum / wall:.2f} of sha256sum's throughput (goal: at least 0.80)")
    print(f"peak memory of the diff: {report['peak_bytes'] / MiB:.0f} MiB (goal: under 200)")
    print(f"differing files found: {report['files']}")


if __name__ == "__main__":
    main()
