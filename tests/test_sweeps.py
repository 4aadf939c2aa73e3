"""Sweeps: studies expand into jobs with stable key~value paths."""

import pytest

from rgpipe.sweeps import expand, format_value, point_path


def test_product_of_lists_with_sorted_stable_paths():
    study = {"representation": ["A1", "A1+E"], "loss": ["kl", "cd"], "epochs": 100, "seeds": [0, 1]}
    points = expand(study, fixed={"seeds"})
    assert [p.path for p in points] == [
        "loss~kl/representation~A1",
        "loss~cd/representation~A1",
        "loss~kl/representation~A1+E",
        "loss~cd/representation~A1+E",
    ]
    assert all(p.params["epochs"] == 100 and p.params["seeds"] == [0, 1] for p in points)
    assert points[3].swept == {"representation": "A1+E", "loss": "cd"}
    # adding a value adds jobs and renames none
    more = expand({**study, "loss": ["kl", "cd", "mse"]}, fixed={"seeds"})
    assert {p.path for p in points} < {p.path for p in more}


def test_list_valued_keys_sweep_only_as_lists_of_lists():
    assert [p.path for p in expand({"hidden": [32, 32]}, {"hidden"})] == ["all"]
    points = expand({"hidden": [[32, 32], [64]]}, {"hidden"})
    assert [p.path for p in points] == ["hidden~32-32", "hidden~64"]
    assert points[1].params["hidden"] == [64]


def test_explicit_points():
    study = {"epochs": 5, "points": [{"loss": "kl", "batch": 8}, {"loss": "cd", "batch": 4}]}
    points = expand(study)
    assert [p.path for p in points] == ["batch~8/loss~kl", "batch~4/loss~cd"]
    assert points[1].params == {"epochs": 5, "loss": "cd", "batch": 4}
    with pytest.raises(ValueError, match="not both"):
        expand({"loss": ["kl", "cd"], "points": [{"batch": 8}]})
    with pytest.raises(ValueError, match="same keys"):
        expand({"points": [{"loss": "kl"}, {"batch": 4}]})
    with pytest.raises(ValueError, match="same path"):
        expand({"loss": ["kl", "kl"]})


def test_value_formatting():
    assert format_value(0.1) == "0.1" and format_value(1e-10) == "1e-10"
    assert format_value(True) == "true" and format_value([0.0, 1.6]) == "0.0-1.6"
    assert point_path({}) == "all"
