"""The model handed over as SageMaker's tar hands it over: the archive a volume is filled from (model.rooted)."""

import io
import posixpath
import tarfile

from byoc_conformance import model

from .archives import entry, write_tar


def _engine_refuses(member: tarfile.TarInfo, extracted_at: str) -> bool:
    """The engine's archive extraction (moby pkg/archive): a symlink whose target, joined to the directory the link
    is in, is not below the directory the archive is extracted at is refused as an "invalid symlink"; a hard link
    whose target is not below it as an "invalid hardlink". Go's filepath.Join joins an absolute target too (so
    /etc/passwd passes), and cleaning stops `..` at the root."""
    where = f"{extracted_at}/{member.name}"
    if member.issym():
        target = posixpath.normpath(f"{posixpath.dirname(where)}/{member.linkname}")
    elif member.islnk():
        target = posixpath.normpath(f"{extracted_at}/{member.linkname}")
    else:
        return False
    return not (target + "/").startswith(extracted_at.rstrip("/") + "/")


LONG = "layers/" + "w" * 120 + ".bin"  # over ustar's 100 characters: the name travels in a pax header


def _model(tmp_path):
    return write_tar(tmp_path / "model.tar.gz", pax=True, members=[
        (entry(".", tarfile.DIRTYPE), None), (entry("./model.json"), b'{"w": 1}'),
        (entry("./layers", tarfile.DIRTYPE), None), (entry(LONG), b"\x00\x01"),
        (entry("./copy.json", tarfile.LNKTYPE, "./model.json"), None),
        (entry("./current.json", tarfile.SYMTYPE, "model.json"), None),
        (entry("./passwd", tarfile.SYMTYPE, "/etc/passwd"), None),
        (entry("./shadow", tarfile.SYMTYPE, "../../../../etc/shadow"), None),
        (entry("./layers/up", tarfile.SYMTYPE, "../../elsewhere/missing"), None)])


def test_a_relative_symlink_that_climbs_out_of_the_model_is_refused_by_the_engine_at_the_mount_point(tmp_path):
    with tarfile.open(_model(tmp_path)) as archive:
        refused = [m.name for m in archive.getmembers() if _engine_refuses(m, "/byoc-model")]
    assert refused == ["./shadow", "./layers/up"]  # the defect: `invalid symlink`, so the model never arrived


def test_the_model_goes_in_under_the_mount_point_with_every_link_kept_as_tar_keeps_it(tmp_path):
    stream = io.BytesIO(b"".join(model.rooted(_model(tmp_path), "byoc-model")))
    with tarfile.open(fileobj=stream) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert archive.extractfile("byoc-model/model.json").read() == b'{"w": 1}'
        assert archive.extractfile(f"byoc-model/{LONG}").read() == b"\x00\x01"
    assert sorted(members) == sorted([
        "byoc-model", "byoc-model/model.json", "byoc-model/layers", f"byoc-model/{LONG}", "byoc-model/copy.json",
        "byoc-model/current.json", "byoc-model/passwd", "byoc-model/shadow", "byoc-model/layers/up"])
    links = {name: (m.type, m.linkname) for name, m in members.items() if m.linkname}
    assert links == {
        "byoc-model/copy.json": (tarfile.LNKTYPE, "byoc-model/model.json"),  # hard links follow their renamed target
        "byoc-model/current.json": (tarfile.SYMTYPE, "model.json"),  # symlinks point where they pointed
        "byoc-model/passwd": (tarfile.SYMTYPE, "/etc/passwd"),
        "byoc-model/shadow": (tarfile.SYMTYPE, "../../../../etc/shadow"),
        "byoc-model/layers/up": (tarfile.SYMTYPE, "../../elsewhere/missing")}
    assert members["byoc-model"].isdir()  # the model directory's own entry lands on the mount point
    # Put at /, nothing is refused, and each link resolves where it would from /opt/ml/model.
    assert not [name for name, m in members.items() if _engine_refuses(m, "/")]


def test_special_files_and_members_outside_the_model_are_left_out(tmp_path):
    archive = write_tar(tmp_path / "model.tar.gz", pax=True, members=[
        (entry("model.json"), b"{}"), (entry("../outside"), b"x"), (entry("fifo", tarfile.FIFOTYPE), None),
        (entry("copy", tarfile.LNKTYPE, "../../etc/shadow"), None)])
    with tarfile.open(fileobj=io.BytesIO(b"".join(model.rooted(archive, "m")))) as rooted:
        assert rooted.getnames() == ["m/model.json"]


def test_a_model_store_tar_is_rooted_too_and_large_files_stream_in_bounded_pieces(tmp_path):
    store = tmp_path / "store.tar"
    with tarfile.open(store, "w") as archive:
        weights = entry("a/model/weights.bin")
        weights.size = 3 * 1000 + 7
        archive.addfile(weights, io.BytesIO(bytes(range(256)) * 12))
        archive.addfile(entry("a/model/shadow", tarfile.SYMTYPE, "../../../../../etc/shadow"))
    pieces = list(model.rooted(store, "byoc-model", piece=1000))
    assert max(len(p) for p in pieces) <= 1024  # headers and end blocks are 512 to 1024 bytes
    with tarfile.open(fileobj=io.BytesIO(b"".join(pieces))) as rooted:
        assert rooted.extractfile("byoc-model/a/model/weights.bin").read() == (bytes(range(256)) * 12)[:3007]
        assert rooted.getmember("byoc-model/a/model/shadow").linkname == "../../../../../etc/shadow"
