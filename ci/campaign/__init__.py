"""luahammer's nightly campaign (run it through ci/luahammer fuzz or ci/nightly.sh).

For each fuzz target: fuzz in libFuzzer's fork mode on a working corpus, turn the crash
files into unique, minimized, confirmed findings, merge the new inputs into the working
corpus (resumably), then write summary.json and report.html, and a coverage report.

Every file a user keeps (findings, corpus, reports) is written to a temporary name and
renamed into place, so killing the run at any moment loses nothing already stored, and
a rerun continues the interrupted run.
"""

from .cli import entry_point, main, parse  # noqa: F401
from .common import ROOT, Fatal, read_json  # noqa: F401
from .findings import (collect_escapes, collect_suppressed, mark_reported, process_artifacts,  # noqa: F401
                       read_known, unreported)
from .processes import FUZZ_ASAN_OPTIONS, Groups, spawn  # noqa: F401
from .report import write_reports  # noqa: F401
from .signatures import signature  # noqa: F401
from .state import continues  # noqa: F401
from .targets import MANIFEST, MANIFEST_COLUMNS, Target, read_manifest  # noqa: F401

__all__ = ["entry_point", "main", "parse", "ROOT", "Fatal", "read_json", "collect_escapes", "collect_suppressed", "read_known", "mark_reported",
           "process_artifacts", "unreported", "FUZZ_ASAN_OPTIONS", "Groups", "spawn", "write_reports", "signature",
           "MANIFEST", "MANIFEST_COLUMNS", "Target", "read_manifest", "continues"]
