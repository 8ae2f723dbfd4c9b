"""Every command of `locflow --help`, fed broken input: one unwrapped `error:` line naming the
file or option, and exit status 2. An unexpected exception keeps its traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from broken_inputs import Case, build

from locflow.cli import app, main

_CORPUS: dict[str, tuple[Path, list[Case]]] = {}


def _corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    if "cases" not in _CORPUS:
        root = tmp_path_factory.mktemp("broken")
        _CORPUS["cases"] = (root, build(root))
    return _CORPUS["cases"][1]


def _cases() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [c.name for c in build(Path(tmp))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Case]:
    return {c.name: c for c in _corpus(tmp_path_factory)}


def _run(args: tuple[str, ...], monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["locflow", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def test_corpus_covers_every_command(corpus):
    import typer.main

    commands = set(typer.main.get_command(app).commands)
    assert commands == {c.command for c in corpus.values()}


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("name", _cases())
def test_broken_input_is_one_line_and_exit_2(corpus, name, monkeypatch, capsys):
    case = corpus[name]
    code, err = _run(case.args, monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and case.expect in lines[0], err


def test_unexpected_exception_keeps_its_traceback(monkeypatch, tmp_path):
    import locflow.versions

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(locflow.versions, "tool_versions", bug)
    monkeypatch.setattr(sys, "argv", ["locflow", "versions"])
    with pytest.raises(ZeroDivisionError):  # not swallowed: Python prints it and exits 1
        main()


# --- help --------------------------------------------------------------------------------------


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_shows_flags_as_flags_and_arguments_by_name():
    import typer.main

    for name, command in typer.main.get_command(app).commands.items():
        text = _help([name])
        assert "<bool>" not in text, name
        for param in command.params:
            if param.param_type_name == "argument":
                assert param.name in text.split("Usage:")[1].splitlines()[0], (name, param.name)
    assert "--plots " in _help(["predict"])


def test_predict_help_and_readme_name_what_predict_writes():
    from locflow.prediction.predict import PREDICT_OUTPUTS

    text = " ".join(_help(["predict"]).split())
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in (*PREDICT_OUTPUTS, "plots/<id>.csv", "plots/<id>.png"):
        assert name in text and name in readme, name
    for rule in ("whitespace removed", "upper-cased", "trailing *", "A-Z", "DNA"):
        assert rule in text, rule


def test_parameter_errors_name_the_option_on_the_command_line():
    """The library names its parameters (`k`, `tokens_per_batch`); the command line shows the
    option the user typed (--folds, --tokens-per-batch) in their place."""
    from locflow.cli.app import option_name
    from locflow.errors import ParameterError

    exc = ParameterError("`k` must be at least 2, got 1; `tokens_per_batch` too")
    assert str(exc) == "`k` must be at least 2, got 1; `tokens_per_batch` too"
    assert exc.named(option_name) == "--folds must be at least 2, got 1; --tokens-per-batch too"
    assert option_name("model_dir") == "--model" and option_name("fmt") == "--format"
