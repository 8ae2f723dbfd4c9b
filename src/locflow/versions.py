"""The versions of the tools locflow runs, for Nextflow's versions topic and for reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from locflow import __version__
from locflow.errors import InputError

TOOLS = ("locflow", "mmseqs2", "torch", "transformers", "peft")


def tool_version(tool: str) -> str:
    """Version of one tool of TOOLS ('not installed' for a missing Python package)."""
    if tool == "locflow":
        return __version__
    if tool == "mmseqs2":
        from locflow.homology.mmseqs import mmseqs_version

        return mmseqs_version()
    if tool not in TOOLS:
        raise InputError(f"unknown tool {tool!r}: choose from {', '.join(TOOLS)}")
    try:
        return version(tool)
    except PackageNotFoundError:
        return "not installed"


def tool_versions(tools: list[str] | None = None) -> dict[str, str]:
    """{tool: version} for `tools` (default: all of TOOLS), in the order asked."""
    return {tool: tool_version(tool) for tool in (tools or TOOLS)}
