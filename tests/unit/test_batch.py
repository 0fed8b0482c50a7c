import pytest

from byoc_conformance.batch import MIB, Job, assemble, filter_record, resolve, select, split


def test_the_job_beats_the_container_which_beats_the_defaults():
    container = {"MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 6}
    assert resolve(Job({"MaxPayloadInMB": 1}), container) == {
        "MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 1}
    assert resolve(Job(), None) == {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


def test_the_batch_environment_names_only_what_the_job_sets():
    assert Job().environment() == {"SAGEMAKER_BATCH": "true"}
    assert Job({"BatchStrategy": "SINGLE_RECORD"}).environment()["SAGEMAKER_BATCH_STRATEGY"] == "SINGLE_RECORD"


def test_multi_record_packs_whole_records_up_to_the_limit():
    records = [b"x" * (MIB // 2 - 1) + b"\n"] * 5
    assert [len(p) for p in split(records, "MULTI_RECORD", 1)] == [2, 2, 1]
    assert [len(p) for p in split(records, "SINGLE_RECORD", 1)] == [1] * 5
    with pytest.raises(ValueError, match="record 1 is .* bytes, over MaxPayloadInMB=1"):
        split([b"x" * (MIB + 1)], "MULTI_RECORD", 1)


@pytest.mark.parametrize("path, expected", [
    ("$", ["a", "b", "c", "d"]), ("$[1:]", ["b", "c", "d"]), ("$[1:3]", ["b", "c"]),  # the end is exclusive
    ("$[0,-1]", ["a", "d"]), ("$[2]", ["c"]), ("$[:2]", ["a", "b"]),
])
def test_csv_jsonpath(path, expected):
    assert select(["a", "b", "c", "d"], path) == expected


def test_the_input_filter_drops_the_label_and_keeps_one_record_a_line():
    assert filter_record(b"1.5,2,3\r\n", "$[1:]") == b"2,3\n"


def test_assemble_with_line_adds_a_newline_only_where_an_answer_lacks_one():
    assert assemble([b"1\n2\n", b"3", b"4\n"]) == b"1\n2\n3\n4\n"


def test_join_source_input_puts_the_whole_record_before_the_answer_and_filters_the_result():
    from byoc_conformance.batch import join

    assert join([b"7,1,2\n", b"8,3,4\n"], [b"0.5\n", b"0.6\n"], "$[0,-1]") == [b"7,0.5\n", b"8,0.6\n"]
