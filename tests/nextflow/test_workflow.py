"""The pipeline run for real: `nextflow run` of the test profile on the demo data, local executor.

One session runs the whole workflow once (with a fault injected into one task, which the
errorStrategy must retry), then checks what it published, compares its metrics with `locflow
demo` on the same data and seed, resumes it (nothing re-runs; after touching one input only its
downstream re-runs), feeds it broken inputs, runs it with -stub, and renders the executor
profiles. Nextflow is the pinned one `make nextflow` resolves from Maven Central
(tools/nextflow/nextflow), or $NEXTFLOW. Runs are offline (LOCFLOW_OFFLINE=true: offline.nf,
nf-schema left out), since Nextflow's plugin registry may be out of reach.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from Bio import SeqIO
from unavailable import unavailable

ROOT = Path(__file__).resolve().parents[2]
NEXTFLOW = Path(os.environ.get("NEXTFLOW") or ROOT / "tools" / "nextflow" / "nextflow")

# Both front ends train this many epochs here (the test profile and `locflow demo` default to
# 8): the checks are about orchestration, and the same settings on both sides is what counts.
EPOCHS = "2"

# Every process of the demo-data run (the test profile with --demo DIR: no MAKE_DEMO_DATA).
DEMO_DIR_PROCESSES = {
    "CURATE_SWISSPROT", "CURATE_HPA", "HOMOLOGY_SEARCH", "PARTITION", "AUDIT", "FILTER_HOMOLOGS",
    "TRAIN",
    "EVALUATE", "REPORT", "PREDICT",
}  # fmt: skip


@dataclass
class Run:
    """One finished `nextflow run`: where it launched and published, and what it printed."""

    launch: Path
    outdir: Path
    returncode: int
    output: str

    def trace(self) -> list[dict[str, str]]:
        """Rows of this run's execution trace (pipeline_info/execution_trace.txt)."""
        path = self.outdir / "pipeline_info" / "execution_trace.txt"
        with path.open() as handle:
            return list(csv.DictReader(handle, delimiter="\t"))


def nextflow(args: list[str], launch: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run Nextflow in `launch` (its work/ and .nextflow/ live there), offline, with this
    environment's locflow first on PATH."""
    pinned_missing = not (ROOT / "tools/nextflow/lib/.complete").exists()
    if not NEXTFLOW.exists() or ("NEXTFLOW" not in os.environ and pinned_missing):
        unavailable(f"no Nextflow at {NEXTFLOW}: run `make nextflow` (or set NEXTFLOW)")
    launch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["LOCFLOW_OFFLINE"] = "true"
    env["NXF_OFFLINE"] = "true"
    env.setdefault("NXF_HOME", str(launch.parent / "nxf_home"))
    return subprocess.run(
        [str(NEXTFLOW), *args],
        cwd=launch,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_pipeline(launch: Path, outdir: Path, *extra: str) -> Run:
    done = nextflow(
        ["run", str(ROOT), "-profile", "test", "--outdir", str(outdir), "--epochs", EPOCHS,
         "-ansi-log", "false", *extra],
        launch,
    )  # fmt: skip
    return Run(launch, outdir, done.returncode, done.stdout + done.stderr)


def processes(rows: list[dict[str, str]], status: str | None = None) -> list[str]:
    """Process names (last part) of trace rows, optionally of one status."""
    return [r["process"].split(":")[-1] for r in rows if status is None or r["status"] == status]


def published(outdir: Path, skip: tuple[str, ...] = ("pipeline_info",)) -> set[str]:
    """Relative paths of every file published under `outdir`, but for the `skip` folders."""
    return {
        p.relative_to(outdir).as_posix()
        for p in outdir.rglob("*")
        if p.is_file() and p.relative_to(outdir).parts[0] not in skip
    }


def metric_values(metrics: dict) -> dict:
    """A metrics.json without the file paths it records (they differ between the front ends)."""
    return {k: v for k, v in metrics.items() if not isinstance(v, str)}


# --- the runs ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nextflow")


@pytest.fixture(scope="session")
def demo_dir(work: Path) -> Path:
    """The demo data `locflow demo` generates (same seed), written by the same command."""
    out = work / "demo_data"
    subprocess.run(
        [sys.executable, "-m", "locflow.cli", "make-demo-data", "--out", str(out)], check=True
    )
    return out


@pytest.fixture(scope="session")
def fault_config(work: Path) -> Path:
    """A test-only config: REPORT's first attempt dies as if killed for memory (exit 137)."""
    flag = work / "report_failed_once"
    config = work / "fault.config"
    config.write_text(
        "process {\n"
        "    withName: 'REPORT' {\n"
        f"        beforeScript = \"if [ ! -e '{flag}' ]; then touch '{flag}'; exit 137; fi\"\n"
        "    }\n"
        "}\n"
    )
    return config


@pytest.fixture(scope="session")
def first_run(work: Path, demo_dir: Path, fault_config: Path) -> Run:
    run = run_pipeline(work / "launch", work / "results", "--demo", str(demo_dir),
                       "-c", str(fault_config))  # fmt: skip
    assert run.returncode == 0, run.output[-5000:]
    assert "ERROR" not in run.output, run.output[-5000:]  # e.g. a failing event handler
    return run


@pytest.fixture(scope="session")
def demo_run(work: Path) -> Path:
    """`locflow demo` on one machine: the same steps in-process."""
    out = work / "demo_out"
    subprocess.run(
        [sys.executable, "-m", "locflow.cli", "demo", "--out", str(out), "--epochs", EPOCHS],
        check=True,
    )
    return out


# --- one real run --------------------------------------------------------------------------


def test_every_process_ran_and_the_audit_gated_training(first_run: Run) -> None:
    rows = first_run.trace()
    completed = processes(rows, "COMPLETED")
    assert set(completed) == DEMO_DIR_PROCESSES
    assert completed.count("TRAIN") == 5 and completed.count("EVALUATE") == 2
    assert completed.count("HOMOLOGY_SEARCH") == 2  # the test profile's two search chunks
    # training and prediction started only after the audit finished
    (audit,) = [r for r in rows if r["process"].endswith(":AUDIT")]
    for row in rows:
        if row["process"].split(":")[-1] in {"TRAIN", "EVALUATE", "PREDICT"}:
            assert row["start"] >= audit["complete"], row["name"]


def test_a_task_killed_once_is_retried_and_the_run_completes(first_run: Run) -> None:
    report = [r for r in first_run.trace() if r["process"].endswith(":REPORT")]
    assert [(r["status"], r["exit"], r["attempt"]) for r in report] == [
        ("FAILED", "137", "1"),
        ("COMPLETED", "0", "2"),
    ]
    assert (first_run.outdir / "report" / "report.html").read_text().lstrip().startswith("<!")


def test_published_results(first_run: Run, demo_dir: Path) -> None:
    out = first_run.outdir
    audit = json.loads((out / "partition" / "audit.json").read_text())
    assert [r["crossing_pairs"] for r in audit["results"]] == [0]
    for k in range(5):
        config = json.loads((out / "model" / f"fold{k}" / "config.json").read_text())
        assert (out / "model" / f"fold{k}" / "weights.safetensors").stat().st_size > 10_000
        assert config["fold"] == k
    cv = json.loads((out / "evaluation" / "cv" / "metrics.json").read_text())
    assert cv["folds"] == [0, 1, 2, 3, 4]
    assert 0 < cv["summary"]["locations.micro_f1"]["mean"] <= 1
    test = json.loads((out / "evaluation" / "test" / "metrics.json").read_text())
    assert test["hpa"] and 0 < test["metrics"]["locations"]["micro_f1"] <= 1
    assert "<html" in (out / "report" / "report.html").read_text()
    # every proteome record predicted exactly once
    fasta_ids = [r.id for r in SeqIO.parse(demo_dir / "proteome.fasta", "fasta")]
    with (out / "predictions" / "proteome" / "results.csv").open() as handle:
        predicted = [row["Protein_ID"] for row in csv.DictReader(handle)]
    assert sorted(predicted) == sorted(fasta_ids) and len(set(predicted)) == len(predicted)
    info = out / "pipeline_info"
    for name in ("execution_trace.txt", "execution_report.html", "execution_timeline.html"):
        assert (info / name).stat().st_size > 0, name


def test_software_versions_per_process(first_run: Run) -> None:
    info = first_run.outdir / "pipeline_info"
    versions = yaml.safe_load((info / "software_versions.yml").read_text())
    assert set(versions) == DEMO_DIR_PROCESSES
    from locflow.homology.mmseqs import mmseqs_version

    for process in ("HOMOLOGY_SEARCH", "PARTITION", "AUDIT", "FILTER_HOMOLOGS"):
        assert versions[process]["mmseqs2"] == mmseqs_version(), process
    from importlib.metadata import version

    for process in ("TRAIN", "EVALUATE", "PREDICT"):
        assert versions[process]["torch"] == version("torch"), process
        assert {"transformers", "peft", "locflow"} <= set(versions[process])
    assert "torch" not in versions["PARTITION"]


def test_metrics_equal_locflow_demo(first_run: Run, demo_run: Path) -> None:
    """One orchestration, two front ends: same data, seed and settings, same numbers."""
    for nextflow_dir, demo_dir in (("cv", "cv"), ("test", "hpa")):
        evaluation = first_run.outdir / "evaluation" / nextflow_dir
        ours = json.loads((evaluation / "metrics.json").read_text())
        theirs = json.loads((demo_run / demo_dir / "metrics.json").read_text())
        assert metric_values(ours) == metric_values(theirs), nextflow_dir
    audit = json.loads((demo_run / "audit.json").read_text())
    assert [r["crossing_pairs"] for r in audit["results"]] == [0]


# --- resume --------------------------------------------------------------------------------


def test_resume_reruns_nothing_then_only_downstream_of_a_touched_input(
    first_run: Run, demo_dir: Path, fault_config: Path
) -> None:
    args = ("--demo", str(demo_dir), "-c", str(fault_config), "-resume")
    again = run_pipeline(first_run.launch, first_run.outdir, *args)
    assert again.returncode == 0, again.output[-5000:]
    statuses = {r["status"] for r in again.trace()}
    assert statuses == {"CACHED"}, again.output[-3000:]

    (first_run.outdir / "report" / "report.html").unlink()
    os.utime(demo_dir / "subcellular_location.tsv")
    third = run_pipeline(first_run.launch, first_run.outdir, *args)
    assert third.returncode == 0, third.output[-5000:]
    rows = third.trace()
    rerun = sorted(processes(rows, "COMPLETED"))
    assert rerun == ["CURATE_HPA", "EVALUATE", "FILTER_HOMOLOGS", "REPORT"]
    completed = [r for r in rows if r["status"] == "COMPLETED"]
    (evaluate,) = [r for r in completed if r["process"].endswith(":EVALUATE")]
    assert evaluate["tag"] == "test"
    assert (first_run.outdir / "report" / "report.html").exists()


# --- bad input -----------------------------------------------------------------------------


def test_truncated_fasta_stops_the_run_naming_the_file(
    first_run: Run, demo_dir: Path, fault_config: Path, tmp_path: Path
) -> None:
    data = gzip.compress((demo_dir / "proteome.fasta").read_bytes())
    broken = tmp_path / "proteome_cut.fasta.gz"
    broken.write_bytes(data[: len(data) // 2])
    run = run_pipeline(first_run.launch, tmp_path / "results", "--demo", str(demo_dir),
                       "-c", str(fault_config), "--fasta", str(broken), "-resume")  # fmt: skip
    assert run.returncode != 0
    assert "PREDICT" in run.output and "proteome_cut.fasta.gz" in run.output, run.output[-3000:]


def test_missing_input_stops_the_run_naming_the_file(work: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_proteome.fasta"
    run = run_pipeline(work / "launch_missing", tmp_path / "results", "--fasta", str(missing))
    assert run.returncode != 0
    assert str(missing) in run.output, run.output[-3000:]


# --- stub ----------------------------------------------------------------------------------


def test_stubs_write_exactly_what_the_scripts_write(
    work: Path, first_run: Run, demo_dir: Path
) -> None:
    """`-stub` of the whole test profile finishes, and publishes the same file names as the
    real run (whose demo data came from `locflow make-demo-data`, MAKE_DEMO_DATA's command)."""
    stub = run_pipeline(work / "launch_stub", work / "results_stub", "-stub")
    assert stub.returncode == 0, stub.output[-5000:]
    assert set(processes(stub.trace(), "COMPLETED")) == DEMO_DIR_PROCESSES | {"MAKE_DEMO_DATA"}
    real = published(first_run.outdir) | {f"data/demo/{p}" for p in published(demo_dir)}
    assert published(stub.outdir) == real


# --- profiles ------------------------------------------------------------------------------


def rendered(profiles: str, work: Path) -> dict[str, str]:
    """`nextflow config -flat` of the pipeline with these profiles, as {key: value text}."""
    done = nextflow(["config", "-flat", "-profile", profiles, str(ROOT)], work / "launch_config")
    assert done.returncode == 0, done.stdout + done.stderr
    found = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            found[key.strip()] = value.strip()
    return found


GPU = "process.'withLabel:process_gpu'"


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        ("slurm,gpu", {"process.executor": "'slurm'", f"{GPU}.queue": "null",
                       f"{GPU}.container": "'locflow-gpu:0.1.0'"}),
        ("awsbatch,gpu", {"process.executor": "'awsbatch'", f"{GPU}.queue": "null",
                          "docker.enabled": "true", f"{GPU}.container": "'locflow-gpu:0.1.0'"}),
        ("googlebatch,gpu", {"process.executor": "'google-batch'", "docker.enabled": "true",
                             f"{GPU}.container": "'locflow-gpu:0.1.0'"}),
        ("singularity", {"singularity.enabled": "true", "process.container": "'locflow:0.1.0'"}),
        ("conda", {"conda.enabled": "true", "process.conda": f"'{ROOT}/envs/locflow.yml'"}),
    ],
)  # fmt: skip
def test_profiles_render(profiles: str, expected: dict[str, str], work: Path) -> None:
    config = rendered(profiles, work)
    assert {k: config.get(k) for k in expected} == expected
    if "gpu" in profiles:
        assert config[f"{GPU}.accelerator"] == "[request:1, type:'nvidia-tesla-t4']"
        assert "--gpus all" in config[f"{GPU}.containerOptions"]
        assert "slurm_gpu_options" in config[f"{GPU}.clusterOptions"]
    else:
        assert f"{GPU}.accelerator" not in config
