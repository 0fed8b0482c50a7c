import math

from byoc_conformance import metrics

DEFINITIONS = [{"Name": "train:mse", "Regex": "train_mse=(.*?);"}, {"Name": "valid:mse", "Regex": "valid_mse=(.*?);"}]


def test_each_regex_is_applied_to_every_line_and_every_match_counts():
    logs = "epoch=1 train_mse=0.5; valid_mse=0.75;\nnoise\nepoch=2 train_mse=0.25; train_mse=1e-3;\n"
    found = metrics.extract(DEFINITIONS, logs)
    assert found["train:mse"].values == [0.5, 0.25, 0.001]
    assert found["valid:mse"].values == [0.75]


def test_captures_that_are_not_finite_numbers_count_as_not_emitted():
    found = metrics.extract(DEFINITIONS, "train_mse=n/a;\ntrain_mse=nan;\ntrain_mse=inf;\n")
    assert found["train:mse"].values == [] and found["train:mse"].not_numbers == ["n/a", "nan", "inf"]
    assert "no value (captured ['n/a', 'nan', 'inf'])" in found["train:mse"].summary()


def test_a_regex_that_does_not_compile_yields_nothing_and_says_why():
    found = metrics.extract([{"Name": "m", "Regex": "loss=(.*"}], "loss=1")
    assert found["m"].values == [] and "does not compile" in found["m"].summary()


def test_limits_and_regex_shape_are_judged_on_the_declaration():
    too_many = [{"Name": f"m{i}", "Regex": "x=(.*?);"} for i in range(41)]
    assert metrics.limit_problems(too_many) == ["41 metric definitions; at most 40 are allowed"]
    assert metrics.limit_problems([{"Name": "", "Regex": "x" * 501}] * 2) == [
        "MetricDefinitions[0].Name has 0 characters; 1-255 are allowed",
        "MetricDefinitions[0].Regex has 501 characters; 1-500 are allowed",
        "MetricDefinitions[1].Name has 0 characters; 1-255 are allowed",
        "MetricDefinitions[1].Regex has 501 characters; 1-500 are allowed",
        "metric '' is declared 2 times"]
    assert metrics.regex_problems([{"Name": "a", "Regex": "(a)=(b)"}, {"Name": "b", "Regex": "loss"}]) == [
        "a: '(a)=(b)' has 2 capture groups", "b: 'loss' has 0 capture groups"]
    assert metrics.regex_problems(DEFINITIONS) == []
    assert not math.isnan(metrics.extract(DEFINITIONS, "train_mse= 3 ;")["train:mse"].values[0])


XGBOOST_LINE = "[3]\ttrain-rmse:0.41\tvalidation-rmse:0.52"


def test_regexes_read_each_line_as_sagemaker_stores_it_with_control_characters_as_octal():
    assert metrics.as_stored(XGBOOST_LINE + "\r") == "[3]#011train-rmse:0.41#011validation-rmse:0.52#015"
    assert metrics.as_stored("\x1b[32mok\x1b[0m") == "#033[32mok#033[0m"
    # AWS's own definition for its XGBoost container captures; it would not on the line as printed.
    aws = {"Name": "validation:rmse", "Regex": r".*\[[0-9]+\].*#011validation-rmse:(\S+)"}
    assert metrics.extract([aws], XGBOOST_LINE)["validation:rmse"].values == [0.52]


def test_a_regex_that_captures_only_on_the_line_as_printed_says_it_captures_nothing_on_sagemaker():
    series = metrics.extract([{"Name": "validation:rmse", "Regex": r"\tvalidation-rmse:(\S+)"}],
                             [XGBOOST_LINE, XGBOOST_LINE])["validation:rmse"]
    assert series.values == [] and series.raw_only == 2
    assert "2 line(s) match as printed" in series.summary() and "#011" in series.summary()
