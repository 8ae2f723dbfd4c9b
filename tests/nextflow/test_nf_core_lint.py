"""`nf-core pipelines lint`: the nf-core community's checks that apply to a pipeline outside the
nf-core organisation (config, schema, parameters, plugin includes, module and subworkflow
structure...). The ones left out and the settings ignored are listed, with reasons, in
docs/nextflow.md and .nf-core.yml. nf-core/tools lives in its own virtualenv (`make setup`:
tools/nf-core), since its pins differ from locflow's.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from test_workflow import NEXTFLOW, ROOT
from unavailable import unavailable

NF_CORE = ROOT / "tools" / "nf-core" / "bin" / "nf-core"

# Pipeline-level tests that apply to locflow. Left out: files_exist, files_unchanged, readme,
# multiqc_config, modules_json, rocrate_readme_sync, nf_test_content (nf-core template files
# and nf-core/modules bookkeeping), actions_* (GitHub Actions; they fetch schemas online).
KEYS = [
    "nextflow_config", "pipeline_todos", "pipeline_if_empty_null", "plugin_includes",
    "pipeline_name_conventions", "template_strings", "schema_lint", "schema_params",
    "system_exit", "schema_description", "merge_markers", "modules_structure",
    "local_component_structure", "base_config", "modules_config", "nfcore_yml",
    "container_configs",
]  # fmt: skip


def test_nf_core_pipelines_lint(tmp_path: Path) -> None:
    for tool, make in ((NF_CORE, "make setup"), (NEXTFLOW, "make nextflow")):
        if not tool.exists():
            unavailable(f"no {tool.relative_to(ROOT)}: run `{make}`")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nextflow").symlink_to(NEXTFLOW)
    env = dict(os.environ, NXF_HOME=str(tmp_path / "nxf_home"), NF_CORE_LINT_OUTPUT="1")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env.pop("LOCFLOW_OFFLINE", None)  # lint the users' configuration, nf-schema included
    results = tmp_path / "lint.json"
    keys = [arg for key in KEYS for arg in ("-k", key)]
    done = subprocess.run(
        [str(NF_CORE), "pipelines", "lint", "--dir", str(ROOT), "--plain-text",
         "--json", str(results), *keys],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(results.read_text())
    failed = [f"{test}: {message}" for test, message in report["tests_failed"]]
    assert not failed, "\n".join(failed)
    assert done.returncode == 0
    passed = {test for test, _ in report["tests_pass"]}
    assert {"nextflow_config", "schema_lint", "schema_params", "plugin_includes"} <= passed
