"""RecordIO framing as SageMaker uses it (MXNet's format): each record is a 4-byte magic number, a 4-byte header
whose low 29 bits are the data's length (the top 3 a continuation flag, 0 for a whole record), the data, and zero
padding to a multiple of 4 bytes; all little-endian. SageMaker wraps each S3 object in one record for a channel with
RecordWrapperType RecordIO (Pipe mode), and splits a transform's input on record boundaries with SplitType RecordIO."""

from __future__ import annotations

import struct

MAGIC = 0xCED7230A
_HEADER = struct.Struct("<II")
MAX_LENGTH = (1 << 29) - 1


class RecordIOError(ValueError):
    """The bytes are not a sequence of whole RecordIO records."""


def wrap(data: bytes) -> bytes:
    """`data` as one RecordIO record."""
    if len(data) > MAX_LENGTH:
        raise RecordIOError(f"{len(data)} bytes do not fit in one RecordIO record (at most {MAX_LENGTH})")
    return _HEADER.pack(MAGIC, len(data)) + data + b"\0" * (-len(data) % 4)


def split(stream: bytes) -> list[bytes]:
    """The records of `stream`, each with its framing (header and padding) as it came: what one payload of a
    RecordIO transform is made of. A multi-part record (continuation flags) stays whole: its parts go together."""
    records: list[bytes] = []
    start = offset = 0
    while offset < len(stream):
        if len(stream) - offset < _HEADER.size:
            raise RecordIOError(f"{len(stream) - offset} stray bytes at offset {offset}, not a RecordIO header")
        magic, header = _HEADER.unpack_from(stream, offset)
        if magic != MAGIC:
            raise RecordIOError(f"no RecordIO magic number at offset {offset}")
        length, flag = header & MAX_LENGTH, header >> 29
        end = offset + _HEADER.size + length + (-length % 4)
        if end > len(stream):
            raise RecordIOError(f"the record at offset {offset} claims {length} bytes; the stream ends before")
        offset = end
        if flag in (0, 3):  # a whole record, or the last part of one
            records.append(stream[start:offset])
            start = offset
    if start != offset:
        raise RecordIOError("the stream ends inside a multi-part record")
    return records


def unwrap(record: bytes) -> bytes:
    """The data of one framed record (of a whole, single-part record)."""
    magic, header = _HEADER.unpack_from(record)
    if magic != MAGIC:
        raise RecordIOError("no RecordIO magic number")
    length = header & MAX_LENGTH
    return record[_HEADER.size:_HEADER.size + length]
