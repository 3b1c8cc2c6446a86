"""The campaign's run state, OUT/run.json, typed: what the report is written from and what
a rerun continues from. Plain JSON on disk; these types say what it holds."""

import time
from typing import Dict, List, Optional, TypedDict


class Sample(TypedDict):
    """One libFuzzer status line: seconds since the start, coverage, corpus, speed, counts."""
    t: int
    cov: int
    ft: int
    corpus: int
    exec_s: int
    execs: int
    crashes: int
    timeouts: int
    ooms: int


class TargetState(TypedDict, total=False):
    status: str              # pending, fuzzing, done, merge-failed, failed-to-start
    series: List[Sample]
    seconds: int
    libfuzzer_status: Optional[int]
    corpus_files: int
    unique_findings: int


class RunState(TypedDict):
    id: str                  # the run's start, YYYYmmdd-HHMMSS
    preset: str
    minutes: int
    executions: Optional[int]  # --executions: each target's fixed budget of executions
    names: List[str]         # the targets, in the order they run
    canary: Optional[str]    # LUAHAMMER_CANARY of a canary campaign
    complete: bool
    new_findings: List[str]  # signatures not yet reported by an earlier run
    targets: Dict[str, TargetState]


def new_run_state(preset: str, minutes: int, names: List[str], canary: Optional[str],
                  executions: Optional[int] = None) -> RunState:
    return RunState(id=time.strftime("%Y%m%d-%H%M%S"), preset=preset, minutes=minutes, executions=executions,
                    names=names, canary=canary,
                    complete=False, new_findings=[], targets={n: TargetState(status="pending") for n in names})


def continues(state: Optional[RunState], preset: str, minutes: int, names: List[str], canary: Optional[str],
              executions: Optional[int] = None) -> bool:
    """Whether `state` is an interrupted run of the same campaign (a rerun continues it)."""
    same = (("preset", preset), ("minutes", minutes), ("names", names), ("canary", canary), ("executions", executions))
    return bool(state) and not state.get("complete") and all(state.get(k) == v for k, v in same)
