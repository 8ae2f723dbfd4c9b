"""Progress while a long command works: stage, count, elapsed and remaining time; plain
periodic lines without a terminal, nothing for a short run."""

from __future__ import annotations

import io
import time

from locflow import runtime


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_plain_lines_name_stage_count_elapsed_and_remaining():
    out = _Pipe()
    with runtime.reporting("predict", stream=out, interval=0.05) as reporter:
        runtime.stage("predicting", 200, "proteins")
        runtime.advance(50)
        time.sleep(0.2)
        line = reporter.line()
    assert line.startswith("predict: predicting, 50 of 200 proteins, 0:00:00 elapsed")
    assert "about 0:00:00 left" in line
    lines = out.getvalue().splitlines()
    assert lines and all(entry.startswith("predict: ") for entry in lines)
    assert "\x1b" not in out.getvalue()  # no bar redraws, no colour codes in a log


def test_unknown_total_counts_without_remaining_time():
    reporter = runtime.Reporter("predict", live=False, stream=_Pipe())
    reporter.stage("predicting", None, "proteins")
    reporter.advance(3)
    assert reporter.line() == "predict: predicting, 3 proteins, 0:00:00 elapsed"


def test_short_run_prints_nothing_and_no_reporter_is_silent():
    out = _Pipe()
    with runtime.reporting("partition", stream=out, interval=60):
        runtime.stage("MMseqs2 createdb")
    assert out.getvalue() == ""
    runtime.stage("outside any command")  # no reporter: a no-op
    runtime.advance(5)


def test_partition_reports_its_stages(monkeypatch):
    from locflow.homology.partition import partition_sequences

    seen = []
    monkeypatch.setattr(runtime.Reporter, "stage",
                        lambda self, name, total=None, unit="": seen.append(name))  # fmt: skip
    import numpy as np

    seqs = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERS",
            "MADQLTEEQIAEFKEAFSLFDKDGDGTITTKEL", "MKVLAAGIVGLLLAQPAMAEDKTETQLRRQWLS"]  # fmt: skip
    with runtime.reporting("partition", stream=_Pipe(), interval=60):
        partition_sequences(seqs, np.eye(4, 10, dtype=np.int8), k=2)
    assert seen[0] == "collapsing identical sequences"
    assert any(name.startswith("MMseqs2 ") for name in seen)
    assert any(name.startswith("packing") for name in seen)


_SEQS = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERS",
         "MADQLTEEQIAEFKEAFSLFDKDGDGTITTKEL", "MKVLAAGIVGLLLAQPAMAEDKTETQLRRQWLS"]  # fmt: skip


def _stages(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(runtime.Reporter, "stage",
                        lambda self, name, total=None, unit="": seen.append(name))  # fmt: skip
    return seen


def test_audit_and_filter_homologs_report_their_stages(monkeypatch):
    from locflow.data.tables import folds_table, protein_record, proteins_table
    from locflow.homology.audit import audit_tables
    from locflow.homology.filter import filter_homologs

    table = proteins_table(
        [protein_record(f"P{i}", s, ["Nucleus"]) for i, s in enumerate(_SEQS)]
    )
    seen = _stages(monkeypatch)
    with runtime.reporting("audit", stream=_Pipe(), interval=60):
        audit_tables(table, {"f": folds_table([f"P{i}" for i in range(4)], [0, 1, 0, 1])})
    assert seen[0].startswith("searching homologs among 4 proteins")
    assert any(name.startswith("MMseqs2 ") for name in seen)
    assert seen[-1] == "checking folds tables"
    seen.clear()
    with runtime.reporting("filter-homologs", stream=_Pipe(), interval=60):
        filter_homologs(table.slice(0, 2), table.slice(2, 2))
    assert seen[0] == "searching 2 query against 2 training proteins"
    assert any(name.startswith("MMseqs2 ") for name in seen)


def test_notes_print_at_once_with_elapsed_time_and_update_sets_count_and_total():
    """train's per-epoch lines: one line per note, at once, in a log as on a terminal."""
    out = _Pipe()
    with runtime.reporting("train", stream=out, interval=60) as reporter:
        runtime.stage("fold 0 epoch 1/3", None, "batches")
        runtime.update(4, 20)
        assert reporter.line().startswith("train: fold 0 epoch 1/3, 4 of 20 batches, 0:00:00")
        runtime.note("fold 0 epoch 1/3: train loss 0.5000")
    assert out.getvalue() == "train: fold 0 epoch 1/3: train loss 0.5000, 0:00:00 elapsed\n"
    runtime.note("outside any command")  # no reporter: a no-op
    live = io.StringIO()
    with runtime.reporting("train", stream=live, live=True):
        runtime.note("fold 0 epoch 2/3: train loss 0.4000")
    assert "train: fold 0 epoch 2/3: train loss 0.4000, 0:00:00 elapsed" in live.getvalue()
