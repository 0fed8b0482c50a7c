"""--byoc-s3: S3 URIs resolved against local files as SageMaker resolves them in S3, and one-line refusals."""

import json

import pytest

from byoc_conformance.engine import HarnessError
from byoc_conformance.s3 import Buckets


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    for name, content in {"train/a.csv": "1\n", "train/nested/b.csv": "2\n", "training-extra/c.csv": "3\n",
                          "test/d.csv": "4\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def prefix(uri):
    return {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}


def test_a_prefix_gives_the_objects_below_it_named_by_the_rest_of_their_keys(data, tmp_path):
    buckets = Buckets.parse([f"s3://bucket/validation={data}"], tmp_path)
    assert buckets.data_source(prefix("s3://bucket/validation/train/"), "$") == {"a.csv": b"1\n",
                                                                                 "nested/b.csv": b"2\n"}


def test_a_prefix_is_a_prefix_of_keys_not_a_directory(data, tmp_path):
    # As in S3, "train" matches train/... and training-extra/...: the rest of each key names the object.
    buckets = Buckets.parse([f"s3://bucket/v={data}"], tmp_path)
    assert set(buckets.data_source(prefix("s3://bucket/v/train"), "$")) == {"a.csv", "nested/b.csv", "ing-extra/c.csv"}


def test_an_object_named_exactly_keeps_its_file_name(data, tmp_path):
    buckets = Buckets.parse([f"s3://bucket/v={data}"], tmp_path)
    assert buckets.data_source(prefix("s3://bucket/v/test/d.csv"), "$") == {"d.csv": b"4\n"}


def test_a_file_mapping_is_the_one_object_its_key_names(data, tmp_path):
    buckets = Buckets.parse([f"s3://bucket/models/model.tar.gz={data / 'test' / 'd.csv'}"], tmp_path)
    assert buckets.object("s3://bucket/models/model.tar.gz", "$") == data / "test" / "d.csv"


def test_a_manifest_names_its_objects_by_their_relative_keys(data, tmp_path):
    manifest = tmp_path / "train.manifest"
    manifest.write_text(json.dumps([{"prefix": "s3://bucket/v/train/"}, "a.csv", "nested/b.csv"]))
    buckets = Buckets.parse([f"s3://bucket/v={data}", f"s3://bucket/train.manifest={manifest}"], tmp_path)
    source = {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://bucket/train.manifest"}}
    assert buckets.data_source(source, "$") == {"a.csv": b"1\n", "nested/b.csv": b"2\n"}


def test_a_path_is_relative_to_the_working_directory(data, tmp_path):
    buckets = Buckets.parse(["s3://bucket/v=data"], tmp_path)
    assert buckets.mappings[0].path == data


def test_an_output_below_a_directory_mapping_goes_there_else_nowhere_mapped(data, tmp_path):
    buckets = Buckets.parse([f"s3://bucket/v={data}"], tmp_path)
    assert buckets.output_directory("s3://bucket/v/output/", "$") == data / "output"
    assert buckets.output_directory("s3://bucket/elsewhere/", "$") is None
    assert buckets.output_directory("s3://other/v/output/", "$") is None


@pytest.mark.parametrize("given, message", [
    (["s3://bucket/v"], "--byoc-s3 s3://bucket/v: give s3://bucket/prefix=PATH"),
    (["bucket/v=data"], "--byoc-s3 bucket/v=data: 'bucket/v' is not an s3://bucket/key URI"),
    (["s3://bucket/v=missing"], "does not exist"),
])
def test_a_malformed_mapping_is_one_line(given, message, data, tmp_path):
    with pytest.raises(HarnessError, match=message):
        Buckets.parse(given, tmp_path)


@pytest.mark.parametrize("source, message", [
    (prefix("s3://bucket/unmapped/"), r"\$.DataSource.S3DataSource.S3Uri: no --byoc-s3 mapping covers "
                                       r"s3://bucket/unmapped/; map it to local data"),
    (prefix("s3://bucket/v/nothing-here/"), "no object below s3://bucket/v/nothing-here/"),
    ({"S3DataSource": {"S3DataType": "AugmentedManifestFile", "S3Uri": "s3://bucket/v/x"}},
     "AugmentedManifestFile: the harness resolves S3Prefix and ManifestFile sources"),
    ({"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/v/", "AttributeNames": ["a"]}},
     "AttributeNames: the harness cannot honour this field offline"),
    ({"FileSystemDataSource": {"FileSystemId": "fs-1"}},
     "FileSystemDataSource: the harness reads S3 data sources only"),
    ({"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://bucket/v/train/a.csv"}},
     "is not a JSON list of a"),
])
def test_what_cannot_be_resolved_is_refused_with_one_line(source, message, data, tmp_path):
    buckets = Buckets.parse([f"s3://bucket/v={data}"], tmp_path)
    with pytest.raises(HarnessError, match=message) as raised:
        buckets.data_source(source, "$.DataSource")
    assert "\n" not in str(raised.value)
