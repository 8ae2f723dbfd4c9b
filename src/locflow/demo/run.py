"""`locflow demo`: the whole chain, in-process, on the embedded demo data.

make-demo-data -> curate-swissprot -> curate-hpa -> partition -> audit (stops on any homolog
pair across folds) -> filter-homologs (HPA vs training) -> train 5 folds (cnn) -> evaluate
(cross-validation and HPA test) -> report -> predict the demo proteome. It calls the same
library functions as the sub-commands, so it is a convenience for one machine, not a second
engine; Nextflow runs the same steps as tasks, with the same settings (conf/test.config), and
its test compares the two runs' metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locflow.data.files import write_json

DEMO_TRAIN_EPOCHS = 8  # also `epochs` in conf/test.config (Nextflow's test profile)


class LeakingPartition(RuntimeError):
    """The audit found homolog pairs across folds: training would test on homologs."""


def run_demo(
    out: str | Path,
    *,
    folds: int = 5,
    epochs: int = DEMO_TRAIN_EPOCHS,
    seed: int = 0,
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every step on demo data under `out`; return the step timings and headline metrics."""
    from locflow.data.curate import run_curate_swissprot
    from locflow.data.hpa import run_curate_hpa
    from locflow.demo.data.make import run_make_demo_data
    from locflow.evaluation.evaluate import headline, run_evaluate
    from locflow.evaluation.report import run_report
    from locflow.homology.audit import run_audit
    from locflow.homology.filter import run_filter_homologs
    from locflow.homology.partition import run_partition
    from locflow.prediction.predict import run_predict
    from locflow.training.fold import run_train
    from locflow.training.settings import TrainSettings

    out = Path(out)
    data, model = out / "data", out / "model"
    proteins, folds_path = out / "proteins.parquet", out / "folds.parquet"
    hpa, hpa_test = out / "hpa.parquet", out / "hpa_test.parquet"
    timings: dict[str, float] = {}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = fn()
        timings[name] = round(time.perf_counter() - start, 2)
        log(f"{name:<18} {timings[name]:7.1f} s")
        return result

    step("make-demo-data", lambda: run_make_demo_data(data, seed=seed))
    step(
        "curate-swissprot",
        lambda: run_curate_swissprot(
            [data / "uniprot_sprot.dat"], proteins, funnel_path=out / "funnel.json"
        ),
    )
    step(
        "curate-hpa",
        lambda: run_curate_hpa(
            data / "subcellular_location.tsv",
            [data / "uniprot_sprot.dat"],
            hpa,
            funnel_path=out / "hpa_funnel.json",
        ),
    )
    step("partition", lambda: run_partition(proteins, folds_path, k=folds, seed=seed))
    # As in the workflow, training waits for the audit and never starts on a leaking partition.
    (audit,) = step("audit", lambda: run_audit(proteins, [folds_path], out=out / "audit.json"))
    if audit.crossing_pairs:
        raise LeakingPartition(
            f"{audit.crossing_pairs} homolog pairs cross folds in {folds_path} "
            f"(see {out / 'audit.json'}); not training on it"
        )
    step("filter-homologs", lambda: run_filter_homologs(hpa, proteins, hpa_test))
    for k in range(folds):
        settings = TrainSettings(fold=k, backbone="cnn", epochs=epochs, seed=seed, device=device)
        step(
            f"train fold {k}", lambda s=settings: run_train(proteins, folds_path, model, settings=s)
        )
    cv = step(
        "evaluate (CV)",
        lambda: run_evaluate(model, proteins, out / "cv", folds=folds_path, device=device),
    )
    test = step("evaluate (HPA)", lambda: run_evaluate(model, hpa_test, out / "hpa", device=device))
    step("report", lambda: run_report([out / "cv", out / "hpa"], out / "report.html"))
    step(
        "predict",
        lambda: run_predict(
            data / "proteome.fasta", model, out / "predictions", device=device, plots=False
        ),
    )
    summary = {
        "timings_s": timings,
        "total_s": round(sum(timings.values()), 1),
        "cross_validation": headline(cv),
        "hpa_test": headline(test),
        "report": str(out / "report.html"),
    }
    write_json(out / "demo.json", summary)
    return summary
