"""Model archives for unit tests, written from (TarInfo, content) pairs."""

import io
import tarfile


def write_tar(path, members, pax=False):
    """A tar of (TarInfo, content) pairs, gzipped if the name says so; `pax` writes long names as `tar czf` does."""
    mode = "w:gz" if path.name.endswith(".gz") else "w"
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT if pax else tarfile.DEFAULT_FORMAT) as archive:
        for info, content in members:
            info.size = len(content or b"")
            archive.addfile(info, io.BytesIO(content) if content else None)
    return path


def entry(name, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info
