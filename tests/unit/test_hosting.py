import io
import tarfile

import pytest

from byoc_conformance.engine import HarnessError, tar_of
from byoc_conformance.hosting import model_from_path, pack_model, parse_listening

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:1F90 0100007F:A2B4 01 00000000:00000000 00:00000000 00000000     0        0 3 1
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_listening_sockets_are_read_from_proc_net_tcp():
    assert parse_listening(PROC_NET_TCP) == [("0.0.0.0", 8080), ("127.0.0.1", 8000), ("::", 9090), ("::1", 8081)]


def test_the_model_is_packed_with_the_directory_contents_at_the_root():
    archive = tar_of({"model/model.json": b"{}", "model/sub/weights.bin": b"\x00"}, ("model", "model/sub"))
    with tarfile.open(fileobj=io.BytesIO(pack_model(archive)), mode="r:gz") as packed:
        assert sorted(packed.getnames()) == ["model.json", "sub", "sub/weights.bin"]


def test_byoc_model_takes_a_directory_or_a_tar_gz(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{}")
    packed = model_from_path(tmp_path / "model")
    (tmp_path / "model.tar.gz").write_bytes(packed)
    assert model_from_path(tmp_path / "model.tar.gz") == packed
    (tmp_path / "junk").write_text("not a tarball")
    with pytest.raises(HarnessError, match="--byoc-model .*junk: not a directory or a readable model.tar.gz"):
        model_from_path(tmp_path / "junk")
