"""TrainConfig and ScoreSyntheticOptions are validated on construction."""

import pytest

from curation.detection.options import ScoreSyntheticOptions, TrainConfig


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="window_tokens"):
        TrainConfig(window_tokens=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)


def test_options_fail_on_the_launcher_with_an_actionable_message(tmp_path, trained):
    with pytest.raises(ValueError, match="no model.json and no model.bin; train one with python -m pipelines.train_detector"):
        ScoreSyntheticOptions(model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="batch_size"):
        ScoreSyntheticOptions(model_dir=trained[0], batch_size=0)


def test_options_keep_the_checked_model_json(trained):
    assert ScoreSyntheticOptions(model_dir=trained[0]).metadata == trained[1]
