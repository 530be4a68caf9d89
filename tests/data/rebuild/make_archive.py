"""Write a one-layer docker-archive to stdout, as a streamLayeredImage script would.

Used by tests/test_audit_commands.py as the program a hand-written flake's stream script
runs. With `random` as its argument, the layer holds fresh random bytes on every run: an
image that does not reproduce.
"""

import hashlib
import io
import json
import os
import sys
import tarfile


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 1, 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


content = os.urandom(16) if sys.argv[1:] == ["random"] else b"the same bytes\n"
layer = tar_of({"data.bin": content})
diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
config = json.dumps(
    {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/data.bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "created": "1970-01-01T00:00:01Z",
    },
    sort_keys=True,
).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps(
    [{"Config": config_name, "RepoTags": ["rebuild-test:1"], "Layers": ["layer/layer.tar"]}]
).encode()
sys.stdout.buffer.write(
    tar_of({"layer/layer.tar": layer, config_name: config, "manifest.json": manifest})
)
