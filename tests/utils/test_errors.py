"""One input-error base class and one JSON reader for annotations, evaluation and GloVe."""

from __future__ import annotations

import pytest

from bsp_lightning.annotations import AnnotationError
from bsp_lightning.annotations.errors import read_json as read_annotation_json
from bsp_lightning.evaluation import EvaluationInputError
from bsp_lightning.evaluation._io import read_json as read_evaluation_json
from bsp_lightning.text import GloveError
from bsp_lightning.utils.errors import InputFileError, read_json, read_text


def test_message_is_one_line_path_line_problem():
    assert str(InputFileError("a/b.json", "bad thing")) == "a/b.json: bad thing"
    assert str(InputFileError("a/b.txt", "bad thing", line=7)) == "a/b.txt:7: bad thing"
    assert str(InputFileError(None, "bad thing")) == "bad thing"
    err = InputFileError("f", "p", 3)
    assert (err.path, err.problem, err.line) == ("f", "p", 3) and isinstance(err, ValueError)


def test_subclasses_share_the_base_and_the_message():
    annotation = AnnotationError("x.json", "missing key", line=2)
    evaluation = EvaluationInputError("missing key", "x.json", line=2)  # problem first, as it always was
    glove = GloveError("x.txt", "not a number", 2)
    for err in (annotation, evaluation, glove):
        assert isinstance(err, InputFileError) and isinstance(err, ValueError)
    assert str(annotation) == str(evaluation) == "x.json:2: missing key"
    assert evaluation.path == "x.json" and evaluation.problem == "missing key"
    assert str(EvaluationInputError("no file here")) == "no file here"
    assert str(EvaluationInputError(path="p.json", problem="keyword order")) == "p.json: keyword order"


@pytest.mark.parametrize(
    ("reader", "error"),
    [(read_json, InputFileError), (read_annotation_json, AnnotationError), (read_evaluation_json, EvaluationInputError)],
)
def test_one_json_reader_raising_each_domain_error(tmp_path, reader, error):
    good = tmp_path / "good.json"
    good.write_text('\ufeff{"a": [1, 2]}')  # a BOM is dropped
    assert reader(good) == {"a": [1, 2]}
    cases = {
        tmp_path / "missing.json": "JSON file not found",
        tmp_path / "empty.json": "empty JSON file",
        tmp_path: "expected a JSON file, found a folder",
    }
    (tmp_path / "empty.json").write_text("  \n")
    for path, problem in cases.items():
        with pytest.raises(error) as info:
            reader(path)
        assert str(info.value) == f"{path}: {problem}" and type(info.value) is error
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": [1,\n}')
    with pytest.raises(error) as info:
        reader(bad)
    assert info.value.line == 3 and str(info.value).startswith(f"{bad}:3: malformed JSON: ")


def test_read_text_errors_option(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"id,caf\xe9\n")
    with pytest.raises(InputFileError, match="cannot read CSV"):
        read_text(path, "CSV")
    assert read_text(path, "CSV", errors="replace") == "id,caf\ufffd\n"
