"""Benchmark: locflow partition against GraphPart on the DeepLoc 2.0 set, audited three ways.

Runs, one after another on the same machine: `locflow partition` (its default search,
`deep` on a set this size; with `--with-thorough` / `--with-fast` also `--search thorough`
/ `fast`), GraphPart `mmseqs2 --prefilter` (with `--with-exact` also GraphPart without
prefilter, under a time limit, beside the audit), then

- the default `locflow audit` of every folds table (DeepLoc's own `Partition` included): an
  independent reviewer's search, -s 7.5, up to 5,000 candidates per query, every one aligned;
- `locflow audit --exhaustive` of a seeded random sample of the proteins (every pair of the
  sample aligned, both directions), and the pairs above the threshold that one of the two
  audits found and the other did not, within the sample;
- the chunked search: `locflow homology-search --chunk 1/N` of the whole set and of a half-size
  set, timed, from which docs/benchmarks.md projects the cost for all of Swiss-Prot.

Wall time and peak memory come from `/usr/bin/time -v` (the largest resident process of each
tool's tree). Results go to <out>/results.json and a Markdown table <out>/results.md; every pair
the audits found goes to <out>/audit_pairs.parquet and <out>/sample_pairs.parquet.

    .venv/bin/python benchmarks/partition.py --out bench_out/partition --threads 2
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from locflow.data.classes import LOCATIONS
from locflow.data.tables import folds_table, protein_record, proteins_table, read_folds, write_table
from locflow.homology.mmseqs import find_mmseqs, mmseqs_version

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "deeploc2" / "swissprot_cv.csv.gz"
BIN = Path(sys.executable).parent


def load_deeploc(path: Path, subset: int | None, seed: int):
    """DeepLoc CSV -> (proteins table, DeepLoc's own folds table)."""
    with gzip.open(path, "rt", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if subset:
        rng = np.random.default_rng(seed)
        rows = [rows[i] for i in sorted(rng.choice(len(rows), subset, replace=False))]
    records = [
        protein_record(
            r["ACC"],
            r["Sequence"],
            [c for c in LOCATIONS if float(r[c]) == 1.0],
            kingdom=r["Kingdom"],
            membrane=float(r["Membrane"]) == 1.0,
            source="deeploc2",
            release="DeepLoc-2.0",
        )
        for r in rows
    ]
    deeploc_folds = folds_table([r["ACC"] for r in rows], [int(r["Partition"]) for r in rows])
    return proteins_table(records), deeploc_folds


def write_graphpart_fasta(proteins, path: Path) -> None:
    """FASTA with `|label=` headers; GraphPart balances one label, so the first location."""
    with open(path, "w") as fh:
        for pid, seq, locs in zip(
            proteins.column("id").to_pylist(),
            proteins.column("sequence").to_pylist(),
            proteins.column("locations").to_pylist(),
            strict=True,
        ):
            label = (locs[0] if locs else "none").replace(" ", "_").replace("/", "_")
            fh.write(f">{pid}|label={label}\n{seq}\n")


def run_limited(cmd, cwd, log, limit_s, env=None) -> dict:
    """Run under /usr/bin/time -v, killing the process group at the time limit.

    Returns wall seconds, peak RSS (MiB, the largest process of the tree) and exit status.
    """
    start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", *cmd], cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
        try:
            rc = proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 15)
            time.sleep(5)
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
            proc.wait()
            rc = None
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)]
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(sum(cpu), 1) if cpu else None,
        "peak_rss_mib": round(int(match.group(1)) / 1024, 1) if match else None,
        "exit": rc,
        "finished": rc == 0,
        "limit_s": limit_s,
        "command": " ".join(str(c) for c in cmd),
    }


def run_locflow(args, out: Path, env, name: str, extra: list[str]) -> dict:
    """Time `locflow partition` (folds to <out>/<name>_folds.parquet)."""
    return run_limited(
        [str(BIN / "locflow"), "partition", str(out / "proteins.parquet"), "--out",
         str(out / f"{name}_folds.parquet"), "--folds", str(args.folds), "--threshold",
         str(args.threshold), "--threads", str(args.threads), "--tmp-dir", str(out / "tmp"),
         *extra],
        out, out / f"{name}_partition.log", None, env,
    )  # fmt: skip


def graphpart(args, out: Path, extra: list[str], limit_s, env, name=None) -> dict:
    """Run GraphPart's mmseqs2 mode in its own folder (it writes ./temp)."""
    name = name or "graphpart_prefilter"
    work = out / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    return run_limited(
        [str(BIN / "graphpart"), "mmseqs2", "--fasta-file", str(out / "graphpart.fasta"),
         "--threshold", str(args.threshold), "--out-file", str(work / "partition.csv"),
         "--labels-name", "label", "--partitions", str(args.folds), *extra],
        work, out / f"{name}.log", limit_s, env,
    )  # fmt: skip


def graphpart_folds(csv_path: Path, ids: list[str]):
    """GraphPart's output CSV (AC, ..., cluster) -> folds table; absent ids were removed."""
    table = pacsv.read_csv(csv_path)
    got = dict(
        zip(table.column("AC").to_pylist(), table.column("cluster").to_pylist(), strict=True)
    )
    return folds_table(ids, [int(float(got[i])) if i in got else -1 for i in ids])


def fold_stats(folds, k: int) -> dict:
    """Kept count, fold sizes and the largest deviation from kept/k."""
    f = np.array(folds.column("fold").to_pylist())
    sizes = np.bincount(f[f >= 0], minlength=k)
    return {
        "kept": int((f >= 0).sum()),
        "fold_sizes": sizes.tolist(),
        "max_size_deviation": round(float(np.abs(sizes / (sizes.sum() / k) - 1).max()), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "bench_out" / "partition")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--subset", type=int, default=None, help="Random subset (development).")
    ap.add_argument("--with-fast", action="store_true", help="Also time --search fast.")
    ap.add_argument("--with-thorough", action="store_true", help="Also time --search thorough.")
    ap.add_argument("--with-exact", action="store_true",
                    help="Also GraphPart without --prefilter, beside the audit.")  # fmt: skip
    ap.add_argument("--exact-limit-min", type=float, default=20.0,
                    help="Time limit for GraphPart without --prefilter (minutes).")  # fmt: skip
    ap.add_argument("--skip-graphpart", action="store_true")
    ap.add_argument("--sample", type=int, default=3000,
                    help="Proteins in the exhaustive audit's random sample (0: none).")  # fmt: skip
    ap.add_argument("--chunks", type=int, default=10,
                    help="Time chunk 1 of this many of the chunked search (0: none).")  # fmt: skip
    ap.add_argument(
        "--audit-only",
        action="store_true",
        help="Keep the timed runs in results.json; audit their folds again.",
    )
    args = ap.parse_args()

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    proteins, deeploc_folds = load_deeploc(args.data, args.subset, seed=0)
    ids = proteins.column("id").to_pylist()
    write_table(proteins, out / "proteins.parquet")
    write_table(deeploc_folds, out / "deeploc_folds.parquet")
    write_graphpart_fasta(proteins, out / "graphpart.fasta")
    mmseqs = find_mmseqs()
    # GraphPart calls `mmseqs` and `mmseqs_fake_prefilter.sh` from PATH: the same binary first.
    env = dict(os.environ, PATH=f"{mmseqs.parent}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}")
    results: dict = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs",
        "data": str(args.data),
        "proteins": len(ids),
        "threshold": args.threshold,
        "folds": args.folds,
        "threads": args.threads,
        "mmseqs": {"binary": str(mmseqs), "version": mmseqs_version(mmseqs)},
        "runs": {},
    }
    tables = {"deeploc": out / "deeploc_folds.parquet"}

    def save() -> None:
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    run = results["runs"]
    if args.audit_only:
        earlier = json.loads((out / "results.json").read_text())
        results.update({k: earlier[k] for k in ("date", "machine", "threads")})
        run.update({k: v for k, v in earlier["runs"].items() if "wall_s" in v})
        tables.update({n: Path(r["folds"]) for n, r in run.items() if "folds" in r})
        args.skip_graphpart = True
    else:
        # The default search (deep on a set this size), then the others asked for.
        searches = [("locflow", [])]
        if args.with_thorough:
            searches.append(("locflow_thorough", ["--search", "thorough"]))
        if args.with_fast:
            searches.append(("locflow_fast", ["--search", "fast"]))
        for name, extra in searches:
            run[name] = run_locflow(args, out, env, name, extra)
            tables[name] = out / f"{name}_folds.parquet"
            run[name]["folds"] = str(tables[name])
            save()
    exact = None
    if not args.skip_graphpart:
        run["graphpart_prefilter"] = graphpart(args, out, ["--prefilter"], None, env)
        if run["graphpart_prefilter"]["finished"]:
            write_table(
                graphpart_folds(out / "graphpart_prefilter" / "partition.csv", ids),
                out / "graphpart_prefilter.parquet",
            )
            tables["graphpart_prefilter"] = out / "graphpart_prefilter.parquet"
            run["graphpart_prefilter"]["folds"] = str(tables["graphpart_prefilter"])
        save()
        # GraphPart without prefilter aligns all ~400 million pairs; it runs under a time limit
        # beside the audit (it is reported as unfinished, not timed against locflow).
        if args.with_exact:
            exact = ThreadPoolExecutor(1).submit(
                graphpart, args, out, [], args.exact_limit_min * 60, env, "graphpart_exact"
            )
    for name, path in tables.items():
        run.setdefault(name, {}).update(fold_stats(read_folds(path), args.folds))
    audit_cmd = [str(BIN / "locflow"), "audit", str(out / "proteins.parquet"),
                 *[str(p) for p in tables.values()], "--threads", str(args.threads),
                 "--report", str(out / "audit.json"), "--pairs", str(out / "audit_pairs.parquet"),
                 "--tmp-dir", str(out / "tmp")]  # fmt: skip
    results["audit"] = run_limited(audit_cmd, out, out / "audit.log", None, env)
    audit = json.loads((out / "audit.json").read_text())
    results["audit"]["search"] = audit["search"]
    for name, res in zip(tables, audit["results"], strict=True):
        run[name]["crossing_pairs"] = res["crossing_pairs"]
        run[name]["crossing_proteins"] = res["crossing_proteins"]
        run[name]["max_cross_identity"] = res["max_cross_identity"]
    if args.sample:
        results["sample_audit"] = sample_audit(args, out, env, tables, proteins)
        save()
    if args.chunks:
        results["chunked_search"] = chunked_search(args, out, env, proteins)
        save()
    if exact is not None:
        run["graphpart_exact"] = exact.result()
        run["graphpart_exact"]["note"] = "ran beside the audit, so it is not audited"
        if run["graphpart_exact"]["finished"]:
            folds = graphpart_folds(out / "graphpart_exact" / "partition.csv", ids)
            run["graphpart_exact"].update(fold_stats(folds, args.folds))
    save()
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


def pair_set(path: Path, threshold: float, keep: set[str] | None = None) -> set[frozenset]:
    """Pairs above `threshold` in an audit's pairs table, optionally both members in `keep`."""
    table = pq.read_table(path)
    a, b, x = (table.column(c).to_pylist() for c in ("a", "b", "identity"))
    return {
        frozenset((p, q))
        for p, q, v in zip(a, b, x, strict=True)
        if v > threshold and (keep is None or (p in keep and q in keep))
    }


def sample_audit(args, out: Path, env, tables: dict[str, Path], proteins) -> dict:
    """`locflow audit --exhaustive` of a seeded sample; compare its pairs with the default's."""
    rng = np.random.default_rng(1)
    n = min(args.sample, proteins.num_rows)
    pick = np.sort(rng.choice(proteins.num_rows, n, replace=False))
    sample = proteins.take(pa.array(pick))
    keep = set(sample.column("id").to_pylist())
    write_table(sample, out / "sample_proteins.parquet")
    paths = []
    for name, path in tables.items():
        folds = read_folds(path)
        mask = pa.array([i in keep for i in folds.column("id").to_pylist()])
        paths.append(out / f"sample_{name}.parquet")
        write_table(folds.filter(mask), paths[-1])
    cmd = [str(BIN / "locflow"), "audit", str(out / "sample_proteins.parquet"),
           *[str(p) for p in paths], "--exhaustive", "--threads", str(args.threads),
           "--report", str(out / "sample_audit.json"),
           "--pairs", str(out / "sample_pairs.parquet"), "--tmp-dir", str(out / "tmp")]  # fmt: skip
    res = run_limited(cmd, out, out / "sample_audit.log", None, env)
    res["proteins"] = n
    report = json.loads((out / "sample_audit.json").read_text())
    res["crossing_pairs"] = {
        name: r["crossing_pairs"] for name, r in zip(tables, report["results"], strict=True)
    }
    exhaustive = pair_set(out / "sample_pairs.parquet", args.threshold)
    default = pair_set(out / "audit_pairs.parquet", args.threshold, keep)
    only_ex, only_def = exhaustive - default, default - exhaustive
    res["pairs_above_threshold"] = {"exhaustive": len(exhaustive), "default_audit": len(default)}
    res["only_exhaustive"] = [sorted(p) for p in sorted(only_ex, key=sorted)[:20]]
    res["only_default_audit"] = [sorted(p) for p in sorted(only_def, key=sorted)[:20]]
    res["only_exhaustive_count"], res["only_default_audit_count"] = len(only_ex), len(only_def)
    return res


def chunked_search(args, out: Path, env, proteins) -> dict:
    """Time chunk 1 of `--chunks` of the whole set, and of a seeded half with the same chunk
    size: the per-chunk CPU time docs/benchmarks.md projects Swiss-Prot's cost from."""
    rng = np.random.default_rng(2)
    pick = rng.choice(proteins.num_rows, proteins.num_rows // 2, replace=False)
    half = proteins.take(pa.array(np.sort(pick)))
    write_table(half, out / "half_proteins.parquet")
    res = {}
    sets = [("whole", out / "proteins.parquet", args.chunks),
            ("half", out / "half_proteins.parquet", max(1, args.chunks // 2))]  # fmt: skip
    for name, path, chunks in sets:
        pairs = out / f"chunk_{name}.parquet"
        cmd = [str(BIN / "locflow"), "homology-search", str(path), "--out", str(pairs),
               "--chunk", f"1/{chunks}", "--threshold", str(args.threshold),
               "--threads", str(args.threads), "--tmp-dir", str(out / "tmp")]  # fmt: skip
        res[name] = run_limited(cmd, out, out / f"chunk_{name}.log", None, env)
        info = json.loads(pq.read_table(pairs).schema.metadata[b"locflow.pairs"])
        res[name].update(
            {"targets": info["units"], "chunks": chunks, "queries": info["units"] // chunks,
             "steps_wall_s": info["seconds"]}
        )  # fmt: skip
    return res


def markdown(results: dict) -> str:
    """The table for docs/benchmarks.md."""
    lines = [
        "| method | wall time | peak RSS | kept | fold sizes (max deviation from kept/k) "
        "| crossing pairs (audit) | max cross-fold identity |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results["runs"].items():
        if "wall_s" in r:
            wall = f"{r['wall_s'] / 60:.1f} min" if r.get("finished") else (
                f"did not finish in {r['limit_s'] / 60:.0f} min")  # fmt: skip
            rss = f"{r['peak_rss_mib'] / 1024:.2f} GiB" if r.get("peak_rss_mib") else "-"
        else:
            wall, rss = "(given)", "-"
        if "kept" not in r:
            lines.append(f"| {name} | {wall} | {rss} | - | - | - | - |")
            continue
        lines.append(
            f"| {name} | {wall} | {rss} | {r['kept']} | {r['fold_sizes']} "
            f"({100 * r['max_size_deviation']:.1f}%) | {r.get('crossing_pairs', '-')} "
            f"| {r.get('max_cross_identity', '-')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
