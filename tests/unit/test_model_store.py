"""A multi-model endpoint's /opt/ml/models, packed from model.tar.gz archives."""

import io
import tarfile

from byoc_conformance.model import pack_store


def model_tar_gz(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        link = tarfile.TarInfo("../outside")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)  # leads out of the model: SageMaker's packing would not give it either
    return path


def test_each_model_lands_under_its_name_and_model(tmp_path):
    store = pack_store({"a": model_tar_gz(tmp_path / "a.tar.gz", {"model.json": b"{}", "sub/w.bin": b"1"}),
                        "b": model_tar_gz(tmp_path / "b.tar.gz", {"model.json": b"[]"})}, tmp_path / "store.tar")
    with tarfile.open(store) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert sorted(members) == ["a", "a/model", "a/model/model.json", "a/model/sub/w.bin", "b", "b/model",
                                   "b/model/model.json"]
        assert members["a"].isdir() and members["b/model"].isdir()
        assert archive.extractfile("b/model/model.json").read() == b"[]"
