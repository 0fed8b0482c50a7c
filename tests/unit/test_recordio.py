import struct

import pytest

from byoc_conformance import recordio


def test_a_wrapped_object_is_one_padded_record_that_splits_back():
    stream = recordio.wrap(b"abcde") + recordio.wrap(b"") + recordio.wrap(b"wxyz")
    assert len(recordio.wrap(b"abcde")) == 8 + 8  # header, 5 bytes, 3 of padding
    records = recordio.split(stream)
    assert [recordio.unwrap(record) for record in records] == [b"abcde", b"", b"wxyz"]
    assert b"".join(records) == stream


def test_a_multi_part_record_stays_whole():
    def part(data: bytes, flag: int) -> bytes:
        return struct.pack("<II", recordio.MAGIC, flag << 29 | len(data)) + data + b"\0" * (-len(data) % 4)

    stream = part(b"ab", 1) + part(b"cd", 2) + part(b"e", 3) + recordio.wrap(b"next")
    assert len(recordio.split(stream)) == 2


@pytest.mark.parametrize("stream", [b"plain,csv\n", recordio.wrap(b"abcd")[:-2], recordio.wrap(b"x") + b"\0\0"])
def test_what_is_not_whole_records_is_refused(stream):
    with pytest.raises(recordio.RecordIOError):
        recordio.split(stream)
