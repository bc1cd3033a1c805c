"""Output-directory handling through Beam's FileSystems (so ``gs://`` works).

No pipeline here: these run on the launcher (claiming the output directory) and
in the single finalizing step (replacing the output with the verified new one).

A run owns exactly two things in ``OUTPUT``: its lock ``OUTPUT/.curation-lock``
and its staging area ``OUTPUT/.curation-tmp-<run id>-<attempt>/``. Everything
is built under ``new/`` in the staging area; :func:`publish` then moves an
earlier output (if any, with ``--overwrite``) into ``previous/``, moves the new
files to their final names with the manifest last, and deletes the staging area
and the lock. Nothing else in ``OUTPUT`` is ever deleted or moved.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import socket
import uuid
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem

from curation.hashing import sha256_hex
from curation.schema import SCHEMA_VERSION, TABLE_SCHEMAS

MANIFEST = "manifest.json"
CARD_FILE = "README.md"
CROISSANT_FILE = "croissant.json"
REPORT_FILE = "report.html"
# Every file a run writes at the top of OUTPUT; the rest of a run's output is its
# tables' shards (``<table>/part-JJJJJ-of-KKKKK.parquet``). The manifest is moved in last.
RUN_FILES = (CARD_FILE, CROISSANT_FILE, REPORT_FILE, MANIFEST)
# Written into an output after its run, by pipelines.audit and pipelines.certify: they
# belong to that run's output, so --overwrite replaces them with it.
AUDIT_DIR = "audit"
AUDIT_FILES = (f"{AUDIT_DIR}/design.json", f"{AUDIT_DIR}/sample.jsonl", f"{AUDIT_DIR}/sample.csv", "certification.json")
LOCK = ".curation-lock"
_STAGING_PREFIX = ".curation-tmp-"
_SHARD_NAME = re.compile(r"part-(\d{5,})-of-(\d{5,})\.parquet")
_SHOWN = 5  # paths named in one error message


def shard_name(index: int, count: int) -> str:
    return f"part-{index:05d}-of-{count:05d}.parquet"


def is_shard_name(name: str) -> bool:
    """Whether ``name`` is one :func:`shard_name` gives."""
    match = _SHARD_NAME.fullmatch(name)
    return bool(match) and shard_name(int(match[1]), int(match[2])) == name


def manifest_problem(value: Any) -> str | None:
    """Why ``value`` is not a manifest that this version of curation writes (None if it is).

    Here, not with the manifest's builder: it is what an output must hold to be
    replaced or trusted as complete, and storage sits below provenance.

    Checks the fields that say who wrote it (``package.name``, ``schema_version``)
    and the shape of ``tables``, which lists every shard of the output.
    """
    if not isinstance(value, dict) or not isinstance(value.get("package"), dict) or value["package"].get("name") != "curation":
        return "is not a curation manifest (no package.name 'curation')"
    if value.get("schema_version") != SCHEMA_VERSION:
        return f"has schema_version {value.get('schema_version')!r}; this curation writes {SCHEMA_VERSION!r}"
    tables = value.get("tables")
    shard_fields = ("path", "bytes", "sha256")
    if not isinstance(tables, dict) or not all(
        isinstance(t, dict) and isinstance(t.get("shards"), list)
        and all(isinstance(s, dict) and all(k in s for k in shard_fields) for s in t["shards"])
        for t in tables.values()
    ):
        return f"has no valid tables section (each table's shards with {', '.join(shard_fields)})"
    return None


def join(*parts: str) -> str:
    return FileSystems.join(*parts)


def _is_local(path: str) -> bool:
    return isinstance(FileSystems.get_filesystem(path), LocalFileSystem)


def _file_sizes(directory: str) -> dict[str, int]:
    """Size of every file under ``directory`` by relative, ``/``-separated path, hidden ones included."""
    base = directory.rstrip("/")
    # A missing local directory lists nothing; an object store lists the prefix.
    found = FileSystems.match([join(base, "**")])[0].metadata_list
    return {m.path[len(base) + 1:].replace(os.sep, "/"): m.size_in_bytes for m in found}


def _relative_files(directory: str) -> list[str]:
    return sorted(_file_sizes(directory))


def is_run_file(relative: str) -> bool:
    """Whether a path (relative to OUTPUT) is one a curation run writes."""
    if relative in RUN_FILES or relative in AUDIT_FILES:
        return True
    table, _, name = relative.partition("/")
    return table in TABLE_SCHEMAS and is_shard_name(name)


def _listing(paths: Sequence[str]) -> str:
    return ", ".join(paths[:_SHOWN]) + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


@dataclasses.dataclass(frozen=True)
class OutputAttempt:
    """One run's claim on an output directory: its lock and its private staging area.

    Made by :func:`claim_output` on the launcher, then pickled into the writing
    transforms, so every worker stages into the same place. As a context
    manager around the pipeline, it abandons the attempt if the pipeline fails.
    """

    output: str
    token: str  # "<run id>-<random>": names the staging area and is written into the lock
    overwrite: bool

    @property
    def lock(self) -> str:
        return join(self.output, LOCK)

    @property
    def root(self) -> str:
        return join(self.output, _STAGING_PREFIX + self.token)

    @property
    def staging(self) -> str:
        """Where the new output is built, with the final layout."""
        return join(self.root, "new")

    @property
    def backup(self) -> str:
        """Where an earlier output waits while the new one moves in."""
        return join(self.root, "previous")

    def holds_lock(self) -> bool:
        try:
            return _lock_owner(self.lock).get("attempt") == self.token
        except (OSError, ValueError):
            return False

    def release(self) -> None:
        """Deletes the lock if it is still this attempt's."""
        if self.holds_lock():
            FileSystems.delete([self.lock])

    def __enter__(self) -> "OutputAttempt":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        # A failure anywhere in the pipeline, not only in the writer's final step.
        if error is not None:
            self.abandon()

    def abandon(self) -> None:
        """After a failure: deletes this attempt's staging area and releases its lock.

        Touches nothing of any other run. If an earlier output was moved aside and
        could not be moved back, keeps everything: :func:`publish`'s error says where.
        """
        if _relative_files(self.backup):
            return
        delete_tree(self.root)
        self.release()


def _lock_owner(lock: str) -> dict:
    owner = read_json(lock)
    if not isinstance(owner, dict):
        raise ValueError(f"{lock} holds no lock record")
    return owner


def create_exclusive(path: str, data: bytes) -> None:
    """Creates ``path`` holding ``data``; raises FileExistsError if it exists.

    Atomic on local disks (O_EXCL). Beam's FileSystems has no create-if-absent,
    so elsewhere (gs://...) this checks, writes and reads back: best effort, two
    runs starting within the same moment can both pass.
    """
    if _is_local(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return
    if FileSystems.exists(path):
        raise FileExistsError(path)
    write_bytes(path, data)
    if read_bytes(path) != data:
        raise FileExistsError(path)


def _process_gone(owner: Mapping) -> bool:
    """Whether the lock's process is known to be dead (only knowable on the same host)."""
    if owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return False
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _locked_message(output: str, lock: str) -> str:
    try:
        owner = _lock_owner(lock)
    except (OSError, ValueError) as err:
        return (f"output directory {output} is locked by {lock}, which cannot be read ({err}); "
                f"if no run is writing there, delete {lock} and rerun")
    staging = join(output, _STAGING_PREFIX + str(owner.get("attempt", "*")))
    who = (f"run {owner.get('run_id')} (pid {owner.get('pid')} on {owner.get('host')}, "
           f"since {owner.get('started')})")
    if _process_gone(owner):
        return (f"output directory {output} has a stale lock {lock}: {who} is no longer running; "
                f"delete {lock} and {staging}/ and rerun")
    return (f"output directory {output} is locked by {lock}: {who} is writing there; if that run was killed, "
            f"delete {lock} and {staging}/ and rerun")


def claim_output(output: str, overwrite: bool, run_id: str | None = None) -> OutputAttempt:
    """Takes ``output`` for one run: checks it, takes its lock, names the staging area.

    Refuses (``FileExistsError``, one line) an output that is a file, is locked by
    another run, or is not empty, unless ``overwrite`` and it holds exactly an
    earlier curation output (see :func:`replaceable_files`). An output that cannot
    be written gives ``ValueError``. Nothing but the lock is written here.
    """
    # On an object store a "directory" is a prefix; an object of that very name is a file.
    is_file = os.path.isfile(output) if _is_local(output) else not output.endswith("/") and FileSystems.exists(output)
    if is_file:
        raise FileExistsError(f"output {output} is an existing file; the output must be a directory")
    # The attempt token keeps a rerun with the same run id out of an earlier attempt's files.
    token = re.sub(r"[^A-Za-z0-9._-]", "_", run_id or "run")[:64] + "-" + uuid.uuid4().hex[:12]
    attempt = OutputAttempt(output, token, overwrite)
    owner = {"run_id": run_id, "attempt": token, "host": socket.gethostname(), "pid": os.getpid(),
             "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        ensure_dir(output)
    except OSError as err:
        raise ValueError(f"output directory {output} cannot be created: {err}") from None
    try:
        create_exclusive(attempt.lock, (json.dumps(owner, sort_keys=True) + "\n").encode("utf-8"))
    except FileExistsError:
        raise FileExistsError(_locked_message(output, attempt.lock)) from None
    except OSError as err:
        raise ValueError(f"output directory {output} is not writable: {err}") from None
    try:
        replaceable_files(attempt)
    except BaseException:
        attempt.release()
        raise
    return attempt


def replaceable_files(attempt: OutputAttempt) -> list[str]:
    """The files of an earlier output in ``attempt.output`` that the attempt may replace.

    Empty for an empty directory. Otherwise only with ``overwrite``, only if
    ``manifest.json`` is a manifest of this curation version, and only if every
    file is one a run writes (:func:`is_run_file`); anything else raises
    ``FileExistsError`` naming what is in the way.
    """
    output = attempt.output
    own = _STAGING_PREFIX + attempt.token + "/"
    present = [p for p in _relative_files(output) if p != LOCK and not p.startswith(own)]
    if not present:
        return []
    if not attempt.overwrite:
        raise FileExistsError(f"output directory {output} is not empty; pass --overwrite to replace an earlier run")
    refusal = f"output directory {output} is not an earlier curation output, refusing to replace it"
    if MANIFEST not in present:
        raise FileExistsError(f"{refusal}: it holds no {MANIFEST}")
    try:
        problem = manifest_problem(read_json(join(output, MANIFEST)))
    except ValueError as err:
        problem = f"is not JSON ({err})"
    if problem:
        raise FileExistsError(f"{refusal}: its {MANIFEST} {problem}")
    foreign = [p for p in present if not is_run_file(p)]
    if foreign:
        raise FileExistsError(f"{refusal}: it holds files a run does not write ({_listing(foreign)}); "
                              "move them away or choose another output")
    return present


def exists(path: str) -> bool:
    return FileSystems.exists(path)


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


def read_parquet(path: str, columns: Sequence[str] | None = None) -> pa.Table:
    """A Parquet file's ``columns`` (all when None): only those column chunks are read."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return pq.read_table(f, columns=None if columns is None else list(columns))


def write_json(path: str, value: Any) -> None:
    write_bytes(path, (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


def read_json(path: str) -> Any:
    return json.loads(read_bytes(path))


def move(sources: list[str], destinations: list[str]) -> None:
    for directory in sorted({FileSystems.split(d)[0] for d in destinations}):
        ensure_dir(directory)
    if sources:
        FileSystems.rename(sources, destinations)


def _move_between(source_dir: str, destination_dir: str, relative: Sequence[str]) -> None:
    move([join(source_dir, p) for p in relative], [join(destination_dir, p) for p in relative])


def delete_tree(directory: str) -> None:
    paths = [join(directory, p) for p in _relative_files(directory)]
    if paths:
        FileSystems.delete(paths)
    if FileSystems.exists(directory):
        FileSystems.delete([directory])


class OutputVerificationError(RuntimeError):
    """An output's files do not match what its manifest (or its writer) lists."""


class PublishError(RuntimeError):
    """Replacing an output failed, and so did moving the earlier output back."""


class ShardVerificationError(RuntimeError):
    """A shard read back from storage does not match what was planned: it is never published."""


def check_tables(output: str, tables: Mapping[str, Iterable[Mapping]], checksums: bool = False) -> list[str]:
    """What is wrong with the tables' shards in ``output`` (empty if nothing).

    Every listed shard must be there with its listed size (and sha256, with
    ``checksums``), and no table folder may hold a file that is not listed.
    """
    listed = {s["path"]: s for shards in tables.values() for s in shards}
    sizes = _file_sizes(output)  # one listing, not a request per shard
    problems = []
    for path, shard in sorted(listed.items()):
        if path not in sizes:
            problems.append(f"{path} is missing")
        elif sizes[path] != shard["bytes"]:
            problems.append(f"{path} holds {sizes[path]} bytes, the manifest lists {shard['bytes']}")
        elif checksums and sha256_hex(read_bytes(join(output, path))) != shard["sha256"]:
            problems.append(f"{path}: its sha256 differs from the manifest's")
    unlisted = [p for p in sorted(sizes) if p.partition("/")[0] in TABLE_SCHEMAS and p not in listed]
    if unlisted:
        problems.append(f"not listed in the manifest (another run's?): {_listing(unlisted)}")
    return problems


def verify_output(output: str, checksums: bool = True) -> list[str]:
    """What makes ``output`` other than a complete curation output (empty if it is complete).

    Complete: ``manifest.json`` is there (a run moves it in last, after every
    other file), is a curation manifest, and every table folder holds exactly
    the shards it lists, with their sizes and (with ``checksums``) sha256.
    """
    path = join(output, MANIFEST)
    if not FileSystems.exists(path):
        return [f"{output} has no {MANIFEST}: the output is incomplete (a run is writing it or was interrupted)"]
    try:
        manifest = read_json(path)
    except ValueError as err:
        return [f"{path} is not JSON ({err})"]
    problem = manifest_problem(manifest)
    if problem:
        return [f"{path} {problem}"]
    return check_tables(output, {n: t["shards"] for n, t in manifest["tables"].items()}, checksums)


def _manifest_apart(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(paths but the manifest, [the manifest] or [])``: the manifest moves in a step of its own."""
    return [p for p in paths if p != MANIFEST], [p for p in paths if p == MANIFEST]


def refuse_unverified(tables: Mapping[str, Sequence[Mapping]]) -> None:
    """Raises :class:`ShardVerificationError` listing every problem the shards' read-back checks found."""
    problems = [p for shards in tables.values() for s in shards for p in s.get("problems", ())]
    if problems:
        raise ShardVerificationError("shard verification failed:\n" + "\n".join(problems))


def publish(attempt: OutputAttempt, tables: Mapping[str, Sequence[Mapping]], documents: Sequence[str] = ()) -> None:
    """Replaces ``attempt.output``'s contents with what is staged, then drops the staging area and the lock.

    ``tables``: per table, the staged shards (``path`` relative to the output,
    ``bytes``, and the ``problems`` their read-back check found: any problem
    refuses the whole output, with every problem listed); ``documents``: staged
    top-level files (of :data:`RUN_FILES`).
    Order: an earlier output moves into the backup (its manifest first, so it
    stops reading as complete), the shards move to their final names and are
    checked there, then the documents, then the manifest last. On any failure
    the new files move back into staging and the earlier output back into place.
    """
    refuse_unverified(tables)
    output = attempt.output
    # Checked again: the lock kept other runs out since the launch, but not people.
    previous = replaceable_files(attempt)
    old_files, old_manifest = _manifest_apart(previous)
    shards = [s["path"] for table in tables.values() for s in table]
    docs, manifest = _manifest_apart(documents)
    new = shards + docs + manifest
    try:
        _move_between(output, attempt.backup, old_manifest)
        _move_between(output, attempt.backup, old_files)
        _move_between(attempt.staging, output, shards)
        problems = check_tables(output, tables)
        if problems:
            raise OutputVerificationError(f"shards moved into {output} do not match: " + "; ".join(problems))
        _move_between(attempt.staging, output, docs)
        _move_between(attempt.staging, output, manifest)
    except BaseException:
        _move_back(attempt, new, previous)
        raise
    delete_tree(attempt.root)
    for table in TABLE_SCHEMAS:  # an earlier output's table folder the new one does not have
        folder = join(output, table)
        if table not in tables and FileSystems.exists(folder) and not _relative_files(folder):
            FileSystems.delete([folder])
    attempt.release()


def _move_back(attempt: OutputAttempt, new: Sequence[str], previous: Sequence[str]) -> None:
    """Undoes a partial :func:`publish`, judged by where each file is now (a failed rename may be partial)."""
    output = attempt.output
    try:
        moved_in = [p for p in reversed(new)  # the manifest first
                    if FileSystems.exists(join(output, p)) and not FileSystems.exists(join(attempt.staging, p))]
        _move_between(output, attempt.staging, moved_in)
        aside, aside_manifest = _manifest_apart([p for p in previous if FileSystems.exists(join(attempt.backup, p))])
        _move_between(attempt.backup, output, aside)
        _move_between(attempt.backup, output, aside_manifest)  # complete again only at the end
    except Exception as err:
        raise PublishError(
            f"replacing the output in {output} failed and moving the earlier output back failed too ({err}); "
            f"its files are in {attempt.backup}/: move them back into {output}, then delete {attempt.lock}"
        ) from err
