"""S3 without S3 (--byoc-s3 s3://bucket/prefix=PATH, repeatable): a URI prefix mapped to a local directory, whose
files are the objects below the prefix (their keys: the prefix, then the file's path relative to the directory), or
to one local file, the object whose key is the prefix itself. A validation profile's data sources are resolved
against these objects as SageMaker resolves them in S3 (S3Prefix, ManifestFile), and its outputs are written where
an output URI falls under a directory mapping. Every refusal is one line (HarnessError), before anything starts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from .engine import HarnessError

SCHEME = "s3://"
MAX_OBJECTS_BYTES = 1024**3  # what one data source may hold: its objects are read into memory to be delivered


def split_uri(uri: str, where: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    if not uri.startswith(SCHEME) or not uri[len(SCHEME):].partition("/")[0]:
        raise HarnessError(f"{where}: {uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[len(SCHEME):].partition("/")
    return bucket, key


@dataclass(frozen=True)
class Mapped:
    """One --byoc-s3 mapping."""

    bucket: str
    prefix: str  # the key prefix, as given
    path: Path

    @property
    def base(self) -> str:
        """The key a directory's files go below: the prefix as a "directory" (ending in "/", or empty)."""
        return self.prefix if not self.prefix or self.prefix.endswith("/") else f"{self.prefix}/"

    @cached_property  # walked once: a profile's channels, transform input and manifest entries all look it up
    def objects(self) -> dict[str, Path]:
        """key -> local file."""
        if self.path.is_file():
            return {self.prefix: self.path}
        return {self.base + file.relative_to(self.path).as_posix(): file
                for file in sorted(self.path.rglob("*")) if file.is_file()}

    def overlaps(self, bucket: str, key: str) -> bool:
        """Whether objects below `key` of `bucket` could come from this mapping."""
        return bucket == self.bucket and (key.startswith(self.prefix) or self.prefix.startswith(key))


@dataclass(frozen=True)
class Buckets:
    """The --byoc-s3 mappings of a run."""

    mappings: tuple[Mapped, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.mappings)

    @classmethod
    def parse(cls, given: list[str] | tuple[str, ...], cwd: Path) -> Buckets:
        mappings = []
        for value in given:
            uri, equals, path = value.partition("=")
            option = f"--byoc-s3 {value}"
            if not equals or not path:
                raise HarnessError(f"{option}: give s3://bucket/prefix=PATH (a local directory or file)")
            bucket, prefix = split_uri(uri, option)
            local = (cwd / path).resolve()
            if not local.exists():
                raise HarnessError(f"{option}: {local} does not exist")
            mappings.append(Mapped(bucket, prefix, local))
        return cls(tuple(mappings))

    def listing(self, uri: str, where: str) -> dict[str, Path]:
        """The objects whose keys begin with the URI's key (an S3 prefix listing): key -> local file. Refuses a URI
        that no mapping covers, or under which there is no object."""
        bucket, key = split_uri(uri, where)
        covering = [mapped for mapped in self.mappings if mapped.overlaps(bucket, key)]
        if not covering:
            raise HarnessError(f"{where}: no --byoc-s3 mapping covers {uri}; map it to local data, e.g. "
                               f"--byoc-s3 {uri}=./data")
        found = {name: file for mapped in covering for name, file in mapped.objects.items() if name.startswith(key)}
        if not found:
            raise HarnessError(f"{where}: no object below {uri} (mapped from "
                               f"{', '.join(str(mapped.path) for mapped in covering)})")
        return dict(sorted(found.items()))

    def object(self, uri: str, where: str) -> Path:
        """The one object the URI names exactly."""
        _, key = split_uri(uri, where)
        found = self.listing(uri, where).get(key)
        if found is None:
            raise HarnessError(f"{where}: {uri} names no object (a prefix of "
                               f"{len(self.listing(uri, where))} object(s); a file is needed here)")
        return found

    def data_source(self, source: dict, where: str) -> dict[str, bytes]:
        """A DataSource's objects as the job receives them: relative key -> content. S3Prefix: every object whose key
        begins with the prefix, named by the rest of its key (an object named exactly keeps its file name);
        ManifestFile: the manifest's objects, named by their relative keys. The others are refused."""
        if "S3DataSource" not in source:
            kinds = ", ".join(source) or "nothing"
            raise HarnessError(f"{where}: {kinds}: the harness reads S3 data sources only (S3DataSource)")
        s3 = source["S3DataSource"]
        unknown = sorted(set(s3) - {"S3DataType", "S3Uri", "S3DataDistributionType"})
        if unknown:
            raise HarnessError(f"{where}.S3DataSource: {', '.join(unknown)}: the harness cannot honour "
                               f"{'this field' if len(unknown) == 1 else 'these fields'} offline")
        kind, uri = s3.get("S3DataType"), s3.get("S3Uri", "")
        at = f"{where}.S3DataSource.S3Uri"
        if kind == "S3Prefix":
            _, key = split_uri(uri, at)
            objects = {(name[len(key):].lstrip("/") or PurePosixPath(name).name): file
                       for name, file in self.listing(uri, at).items()}
        elif kind == "ManifestFile":
            objects = self._manifest(uri, at)
        else:
            raise HarnessError(f"{where}.S3DataSource.S3DataType: {kind}: the harness resolves S3Prefix and "
                               "ManifestFile sources (an AugmentedManifestFile's records are not read)")
        size = sum(file.stat().st_size for file in objects.values())
        if size > MAX_OBJECTS_BYTES:
            raise HarnessError(f"{at}: {size} bytes of objects; the harness delivers at most {MAX_OBJECTS_BYTES}")
        return {name: file.read_bytes() for name, file in objects.items()}

    def _manifest(self, uri: str, where: str) -> dict[str, Path]:
        """A manifest: a JSON list, a {"prefix": "s3://..."} first and then keys relative to it."""
        manifest = self.object(uri, where)
        try:
            entries = json.loads(manifest.read_text(encoding="utf-8"))
            prefix = entries[0]["prefix"]
            relative = entries[1:]
            if not isinstance(prefix, str) or not all(isinstance(item, str) for item in relative):
                raise TypeError
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            raise HarnessError(f"{where}: the manifest {manifest} is not a JSON list of a {{\"prefix\": ...}} and "
                               "relative keys") from None
        return {item: self.object(prefix + item, f"{where} (manifest {manifest})") for item in relative}

    def output_directory(self, uri: str, where: str) -> Path | None:
        """Where objects written below `uri` go: below a directory mapping that covers it, at their relative keys;
        None when no directory mapping does (the caller picks the report bundle)."""
        bucket, key = split_uri(uri, where)
        for mapped in self.mappings:
            if mapped.bucket == bucket and mapped.path.is_dir() and (key + "/").startswith(mapped.base):
                return mapped.path / key[len(mapped.base):]
        return None
