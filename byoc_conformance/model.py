"""The model handover as SageMaker makes it: training's /opt/ml/model is packed into model.tar.gz, and hosting
extracts that archive into /opt/ml/model. Archives are handled on disk, in one pass, never whole in memory.

What packing keeps (as `tar czf model.tar.gz -C /opt/ml/model .` does, which is what the catalogue's
TRAIN-13 decision records): regular files, directories, symbolic links as links (their targets are not
followed, and one that points outside the model still arrives as that link), and hard links as links to
the first name. Sockets, FIFOs and device files are left out.

Extracting keeps them the same way, as `tar xzf` does: a symlink arrives as that link, wherever it points, even
a relative one that climbs out of /opt/ml/model (`shadow -> ../../../../etc/shadow`), dangling or not."""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .engine import HarnessError

GIB = 1024**3
# Limits on a --byoc-model archive, checked from its headers before anything starts: SageMaker asks for
# more disk above 30 GB, and a million files is past any model we know of.
MAX_BYTES = 30 * GIB
MAX_FILES = 1_000_000


@dataclass
class Model:
    tar_gz: Path | None
    missing: str | None = None  # why there is none


def pack(archive: Path, destination: Path) -> Path:
    """/opt/ml/model, as Docker's archive API gives it (everything below one top entry), packed into
    model.tar.gz at `destination` with the directory's contents at its root."""
    # Level 1: the bytes that arrive are the same at any level, and level 9 takes minutes for a large model.
    with tarfile.open(archive) as source, tarfile.open(destination, "w:gz", compresslevel=1) as target:
        for member in source:
            member.name = member.name.partition("/")[2]
            if member.islnk():
                member.linkname = member.linkname.partition("/")[2]
            if member.name and (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return destination


def from_path(path: Path, destination: Path, option: str = "--byoc-model") -> Path:
    """--byoc-model: a model directory, packed here into `destination`, or a model.tar.gz, checked in one pass
    (no member may land outside /opt/ml/model; at most MAX_FILES files and MAX_BYTES bytes)."""
    option = f"{option} {path}"
    if path.is_dir():
        with tarfile.open(destination, "w:gz", compresslevel=1) as target:
            for child in sorted(path.iterdir()):
                target.add(child, arcname=child.name)
        archive = destination
    elif path.is_file():
        archive = path
    else:
        raise HarnessError(f"{option}: no such directory or file")
    files = size = 0
    try:
        with tarfile.open(archive, "r|gz") as tar:  # a stream: one pass, so a compressed bomb is not re-read
            for member in tar:
                problem = _problem(member)
                if problem:
                    raise HarnessError(f"{option}: {member.name!r} {problem}")
                files += 1
                size += member.size
                if files > MAX_FILES or size > MAX_BYTES:
                    raise HarnessError(f"{option}: more than {MAX_FILES} files or {MAX_BYTES // GIB} GiB once "
                                       "extracted; the harness stops there")
    except (OSError, tarfile.TarError, EOFError) as error:
        raise HarnessError(f"{option}: not a directory or a readable model.tar.gz ({error})") from None
    return archive


def _leaves(name: str) -> bool:
    return posixpath.isabs(name) or posixpath.normpath(name).split("/")[0] == ".."


def _problem(member: tarfile.TarInfo) -> str | None:
    if _leaves(member.name):
        return "would be extracted outside /opt/ml/model"
    if member.islnk() and _leaves(member.linkname):
        return f"is a hard link to {member.linkname!r}, outside /opt/ml/model"
    if member.ischr() or member.isblk() or member.isfifo():
        return "is a device file or FIFO, which SageMaker's packing leaves out"
    return None


PIECE = 1024 * 1024  # the most of a file's content `rooted` holds at once


def rooted(archive: Path, root: str, piece: int = PIECE) -> Iterator[bytes]:
    """`archive` (a model.tar.gz, or a model store's tar) as an uncompressed tar with every member under `root`,
    streamed in pieces of at most `piece` bytes: what the engine extracts at / to fill a volume mounted at
    /`root`. Put at the mount point itself, the engine's extraction refuses a relative symlink that climbs out of
    it (`invalid symlink`), where tar keeps it; at /, no relative link can climb out of where it is extracted,
    so every link arrives as the link it is. Hard links are renamed with their members. Members that would land
    outside `root` and special files are left out, as pack_store leaves them (neither comes from packing, and
    --byoc-model refuses them)."""
    with tarfile.open(archive, "r|*") as source:
        for member in source:
            if _problem(member) or not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                continue
            name = posixpath.normpath(member.name)  # "./x" -> "x"; "." (the model directory itself) stays "."
            member.name = root if name == "." else f"{root}/{name}"
            if member.islnk():
                member.linkname = f"{root}/{posixpath.normpath(member.linkname)}"
            if member.isfile():
                member.type = tarfile.REGTYPE  # a sparse member's content is read out whole below
            # The extended header is written anew from the member: a `path` or `linkpath` read from the archive
            # would take priority over the new names, and sparse maps no longer apply.
            member.pax_headers = {}
            yield member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            if member.isfile():
                content, left = source.extractfile(member), member.size
                while left:
                    data = content.read(min(piece, left))  # type: ignore[union-attr]
                    if not data:
                        raise tarfile.ReadError(f"{member.name}: the archive ends inside it")
                    left -= len(data)
                    yield data
                yield tarfile.NUL * (-member.size % tarfile.BLOCKSIZE)
    yield tarfile.NUL * (2 * tarfile.BLOCKSIZE)  # the end of the archive


def extract_for_reproduction(tar_gz: Path, target: Path) -> list[str]:
    """The model extracted into `target` for a reproduce command, without anything that leads out of
    `target` (links to absolute paths or outside it) or special files; returns what was left out."""
    left_out: list[str] = []

    def inside(member: tarfile.TarInfo, where: str) -> tarfile.TarInfo | None:
        try:
            return tarfile.data_filter(member, where)
        except tarfile.FilterError:
            left_out.append(member.name + (f" -> {member.linkname}" if member.linkname else ""))
            return None

    with tarfile.open(tar_gz) as archive:
        archive.extractall(target, filter=inside)
    return left_out


def pack_store(models: dict[str, Path], destination: Path) -> Path:
    """A multi-model endpoint's /opt/ml/models as a tar archive: each model.tar.gz extracted under <name>/model,
    the directory SageMaker gives a model it loads on such an endpoint (MME-07)."""
    with tarfile.open(destination, "w") as target:
        for name, tar_gz in models.items():
            for directory in (name, f"{name}/model"):
                target.addfile(_directory(directory))
            with tarfile.open(tar_gz, "r|gz") as source:
                for member in source:
                    if _problem(member) or not member.name.strip("./"):
                        continue
                    member.name = f"{name}/model/{posixpath.normpath(member.name)}"
                    if member.islnk():
                        member.linkname = f"{name}/model/{posixpath.normpath(member.linkname)}"
                    target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return destination


def _directory(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info
