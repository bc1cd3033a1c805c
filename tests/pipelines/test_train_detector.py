"""train_detector's command line: bad labelled input is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from pipelines import train_detector

_GOOD = {"id": "a", "text": "a labelled text", "label": "human"}


def _train(tmp_path, lines: list[str], capsys, output=None) -> tuple[int, str]:
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(line + "\n" for line in lines))
    code = train_detector.main([
        "--input", str(labelled), "--output", str(output or tmp_path / "detector"),
        "--label-field", "label", "--label-map", "human=real,ai=synthetic",
    ])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("lines, message", [
    ([json.dumps(_GOOD), "not json"], "labelled.jsonl#1: invalid_json"),
    ([json.dumps(_GOOD), json.dumps({**_GOOD, "id": "b", "label": "robot"})],
     "label='robot' is not in the origin value map"),
    ([json.dumps(_GOOD)] * 3, "training needs both real and synthetic documents"),
])
def test_bad_labelled_input_is_one_line_and_exit_2(tmp_path, capsys, lines, message):
    code, err = _train(tmp_path, lines, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "detector").exists()


def test_a_missing_input_is_one_line_and_exit_2(tmp_path, capsys):
    code = train_detector.main(["--input", str(tmp_path / "nowhere.jsonl"), "--output", str(tmp_path / "detector")])
    err = capsys.readouterr().err
    assert code == 2 and "matched no files" in err and "Traceback" not in err


def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    lines = [json.dumps({"id": f"{label}{i}", "text": f"{label} text number {i} " * 5, "label": label})
             for label in ("human", "ai") for i in range(40)]
    code, err = _train(tmp_path, lines, capsys, output=blocker / "detector")
    assert code == 2 and err.startswith("error: cannot write the detector to ") and "Traceback" not in err
    assert blocker.read_text() == "not a directory"
