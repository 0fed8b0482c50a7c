import re
import tarfile

import pytest

from byoc_conformance import model
from byoc_conformance.engine import HarnessError, tar_of
from byoc_conformance.hosting import parse_listening

from .archives import entry, write_tar

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






def test_the_model_is_packed_with_the_directory_contents_at_the_root(tmp_path):
    archive = tmp_path / "model.tar"
    archive.write_bytes(tar_of({"model/model.json": b"{}", "model/sub/weights.bin": b"\x00"}, ("model", "model/sub")))
    with tarfile.open(model.pack(archive, tmp_path / "model.tar.gz")) as packed:
        assert sorted(packed.getnames()) == ["model.json", "sub", "sub/weights.bin"]


def test_packing_keeps_hard_links_and_symlinks_as_links_and_leaves_out_special_files(tmp_path):
    archive = write_tar(tmp_path / "model.tar", [
        (entry("model", tarfile.DIRTYPE), None), (entry("model/model.json"), b"{}"),
        (entry("model/copy.json", tarfile.LNKTYPE, "model/model.json"), None),
        (entry("model/passwd", tarfile.SYMTYPE, "/etc/passwd"), None),
        (entry("model/pipe", tarfile.FIFOTYPE), None)])
    with tarfile.open(model.pack(archive, tmp_path / "model.tar.gz")) as packed:
        members = {m.name: m for m in packed.getmembers()}
    assert sorted(members) == ["copy.json", "model.json", "passwd"]
    assert members["copy.json"].islnk() and members["copy.json"].linkname == "model.json"
    assert members["passwd"].issym() and members["passwd"].linkname == "/etc/passwd"


def test_byoc_model_takes_a_directory_or_a_tar_gz(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{}")
    packed = model.from_path(tmp_path / "model", tmp_path / "packed.tar.gz")
    assert model.from_path(packed, tmp_path / "unused") == packed
    (tmp_path / "junk").write_text("not a tarball")
    with pytest.raises(HarnessError, match="--byoc-model .*junk: not a directory or a readable model.tar.gz"):
        model.from_path(tmp_path / "junk", tmp_path / "unused")


@pytest.mark.parametrize(("member", "problem"), [
    (entry("../evil"), "would be extracted outside /opt/ml/model"),
    (entry("/etc/cron.d/evil"), "would be extracted outside /opt/ml/model"),
    (entry("a/../../evil"), "would be extracted outside /opt/ml/model"),
    (entry("copy", tarfile.LNKTYPE, "../../etc/shadow"), "is a hard link to '../../etc/shadow', outside"),
    (entry("dev", tarfile.CHRTYPE), "is a device file or FIFO"),
])
def test_a_byoc_model_archive_that_would_leave_the_model_directory_is_refused(tmp_path, member, problem):
    archive = write_tar(tmp_path / "model.tar.gz", [(entry("model.json"), b"{}"), (member, None)])
    with pytest.raises(HarnessError, match=re.escape(problem)):
        model.from_path(archive, tmp_path / "unused")


def test_a_byoc_model_over_the_size_limit_is_refused_from_its_headers(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "MAX_BYTES", 1000)
    archive = write_tar(tmp_path / "model.tar.gz", [(entry("weights.bin"), b"\x00" * 2000)])
    with pytest.raises(HarnessError, match="more than .* files or"):
        model.from_path(archive, tmp_path / "unused")


def test_the_reproduction_copy_of_a_model_has_no_link_leading_out_of_it(tmp_path):
    archive = write_tar(tmp_path / "model.tar.gz", [
        (entry("model.json"), b"{}"), (entry("current.json", tarfile.SYMTYPE, "model.json"), None),
        (entry("passwd", tarfile.SYMTYPE, "/etc/passwd"), None),
        (entry("up", tarfile.SYMTYPE, "../../x"), None)])
    left_out = model.extract_for_reproduction(archive, tmp_path / "out")
    assert sorted(left_out) == ["passwd -> /etc/passwd", "up -> ../../x"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["current.json", "model.json"]
