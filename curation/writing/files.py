"""Output-directory handling through Beam's FileSystems (so ``gs://`` works).

No pipeline here: these run on the launcher (preparing the directory) and in the
single finalizing step (moving verified shards to their final names).
"""

from __future__ import annotations

import json
from typing import Any

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

MANIFEST = "manifest.json"
TEMP_DIR = "_temporary"


def join(*parts: str) -> str:
    return FileSystems.join(*parts)


def _children(directory: str) -> list[str]:
    if not FileSystems.exists(directory):
        return []
    pattern = join(directory, "**")
    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def prepare_output_dir(output: str, overwrite: bool) -> None:
    """Refuses a non-empty output directory, unless ``overwrite`` and it is an earlier curation output.

    An earlier output is recognised by its manifest; a directory of other files is
    never cleared, so a mistyped ``--output`` cannot delete someone's data.
    """
    existing = _children(output)
    if not existing:
        ensure_dir(output)
        return
    if not overwrite:
        raise FileExistsError(f"output directory {output} is not empty; pass --overwrite to replace an earlier run")
    if not FileSystems.exists(join(output, MANIFEST)):
        raise FileExistsError(
            f"output directory {output} is not empty and holds no {MANIFEST}: "
            "refusing to clear a directory that is not an earlier curation output"
        )
    FileSystems.delete(existing)


def ensure_dir(directory: str) -> None:
    # Object stores have no directories; on local disks a rename needs its target's.
    if not FileSystems.exists(directory):
        FileSystems.mkdirs(directory)


def write_bytes(path: str, data: bytes) -> None:
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return f.read()


def write_json(path: str, value: Any) -> None:
    write_bytes(path, (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


def read_json(path: str) -> Any:
    return json.loads(read_bytes(path))


def move(sources: list[str], destinations: list[str]) -> None:
    for directory in sorted({FileSystems.split(d)[0] for d in destinations}):
        ensure_dir(directory)
    if sources:
        FileSystems.rename(sources, destinations)


def delete_tree(directory: str) -> None:
    paths = _children(directory)
    if paths:
        FileSystems.delete(paths)
    if FileSystems.exists(directory):
        FileSystems.delete([directory])
