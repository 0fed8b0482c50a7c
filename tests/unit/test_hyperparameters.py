from hypothesis import given, settings

from byoc_conformance import declaration, hyperparameters
from byoc_conformance.declaration import Hyperparameter

from ..suite_runs import SAMPLES

SPECS = declaration.load(SAMPLES / "reference" / "byoc-spec.json").hyperparameters


@settings(max_examples=200)
@given(hyperparameters.valid_sets(SPECS))
def test_drawn_sets_set_every_hyperparameter_within_its_declaration(values):
    assert set(values) == {"epochs", "learning_rate", "regularization"}
    assert all(isinstance(v, str) for v in values.values())
    assert 1 <= int(values["epochs"]) <= 50
    assert 0.0001 <= float(values["learning_rate"]) <= 0.05
    assert values["regularization"] in ("none", "l2")


def test_probes_are_the_nearest_violations_round_robin():
    found = [probe.describe() for probe in hyperparameters.probes(SPECS)]
    assert found == [
        "epochs='0' (below the declared minimum 1)",
        "learning_rate='-0.02485' (below the declared minimum 0.0001)",
        "regularization='none-undeclared' (not one of the declared values)",
        "epochs='51' (above the declared maximum 50)",
        "learning_rate='0.07495' (above the declared maximum 0.05)",
        "epochs='25.5' (not an integer)",
        "learning_rate='not-a-number' (not a number)",
    ]


def test_required_hyperparameters_get_a_value_and_a_left_out_probe():
    spec = Hyperparameter("depth", "Integer", True, None, "2", "8")
    assert hyperparameters.required_set([spec]) == {"depth": "2"}
    left_out = hyperparameters.probes([spec])[-1]
    assert left_out.apply({"depth": "2", "other": "x"}) == {"other": "x"}
    assert left_out.describe() == "depth left out (declared as required)"


def test_free_text_keeps_its_default_and_broken_ranges_are_left_to_mkt_03():
    assert hyperparameters.required_set([Hyperparameter("tag", "FreeText", True, None)]) == {"tag": "text"}
    assert hyperparameters.bounds(Hyperparameter("n", "Integer", False, None, "1.5", "3")) is None
    assert hyperparameters.bounds(Hyperparameter("x", "Continuous", False, None, "5", "1")) is None
