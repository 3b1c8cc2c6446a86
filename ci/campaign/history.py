"""Night after night: each finished run's figures per target (history.json in the campaign's
folder), and each stored finding's status (new, known, fixed) checked against tonight's build."""

import os
import re

from .common import read_json, say, write_json
from .processes import run, sanitizer_env
from .findings import collect_findings, reproduce
from .signatures import signature

HISTORY = "history.json"
KEEP_NIGHTS = 400


def record_night(out, run_state, coverage):
    """Adds (or replaces) this run's entry: exec/s, coverage, corpus and findings per target."""
    path = os.path.join(out, HISTORY)
    nights = [n for n in read_json(path, []) if n.get("run") != run_state["id"]]
    targets = {}
    for name, t in run_state["targets"].items():
        last = (t.get("series") or [{}])[-1]
        targets[name] = {"executions": last.get("execs"), "exec_s": last.get("exec_s"), "cov": last.get("cov"), "seconds": t.get("seconds", 0),
                         "corpus_files": t.get("corpus_files"), "unique_findings": t.get("unique_findings", 0),
                         "status": t.get("status"), "argument_checks": t.get("argument_checks")}
    night = {"run": run_state["id"], "minutes": run_state["minutes"], "executions": run_state.get("executions"),
             "targets": targets}
    if coverage:
        night["line_coverage"] = {area: v["percent"] for area, v in coverage.items()}
    nights.append(night)
    nights.sort(key=lambda n: n["run"])
    write_json(path, nights[-KEEP_NIGHTS:])
    return nights


def read_history(out):
    return read_json(os.path.join(out, HISTORY), [])


def check_known_findings(out, targets, run_state):
    """A stored finding not seen tonight is replayed once on tonight's build: still the same
    signature, it stays known; clean, it is marked fixed (with the run that saw it fixed);
    another report, it stays known (the input now shows something else: look at it)."""
    new = set(run_state.get("new_findings", []))
    started = run_started(run_state)
    for info in collect_findings(out):
        folder = os.path.join(out, "crashes", info["target"], info["signature"])
        seen_tonight = max(info.get("last_seen", ""), info.get("first_seen", "")) >= started
        if info["signature"] in new or seen_tonight or info["target"] not in targets:
            if seen_tonight and info.pop("fixed_in", None):
                write_json(os.path.join(folder, "info.json"), info)  # back again
            continue
        target = targets[info["target"]]
        if not os.path.exists(target.binary):
            continue
        status, output = reproduce(target, os.path.join(folder, "input"))
        sig, _, _ = signature(output)
        if status == 0 and sig is None:
            if not info.get("fixed_in"):
                info["fixed_in"] = run_state["id"]
                say(f"{info['target']}: {info['signature']} no longer reproduces: marked fixed")
        else:
            info.pop("fixed_in", None)  # back again
        write_json(os.path.join(folder, "info.json"), info)


def run_started(run_state):
    """The run's start as the findings' timestamps write it (its id is %Y%m%d-%H%M%S)."""
    i = run_state["id"]
    return f"{i[0:4]}-{i[4:6]}-{i[6:8]}T{i[9:11]}:{i[11:13]}:{i[13:15]}"


def status_of(info, run_state):
    if info["signature"] in set(run_state.get("new_findings", [])):
        return "new"
    if info.get("fixed_in"):
        return "fixed"
    return "known"


CHECK_LINE = re.compile(r"^  (.+): (\d+)/(\d+)$")
FINDING_LINE = re.compile(r"^replay: .*: a finding \(")


def argument_checks(target, corpus):
    """A module target's corpus replayed with --explain: per callable, the calls made and the
    calls that got past its argument check, summed over the inputs (issue 20's figure: how
    much of a binding the fuzzer really exercises). Each input runs in its own process
    (--keep-going), so an input that ends in a finding (a ledger's growth check can fire on a
    corpus input kept before the ledger existed) is counted, not the end of the figures.
    None when the replay gives no figures."""
    if not os.path.exists(target.replay) or not os.path.isdir(corpus) or not os.listdir(corpus):
        return None
    status, output = run([target.replay, "--explain", "--keep-going", corpus], timeout=1800,
                         env=sanitizer_env(light=True))
    calls, passed, inside, findings = {}, {}, False, 0
    for line in output.splitlines():
        if FINDING_LINE.match(line):
            findings += 1
        if line.startswith("argument checks"):
            inside = True
            continue
        m = CHECK_LINE.match(line) if inside else None
        if m:
            calls[m.group(1)] = calls.get(m.group(1), 0) + int(m.group(3))
            passed[m.group(1)] = passed.get(m.group(1), 0) + int(m.group(2))
        else:
            inside = False
    if not calls:
        return None
    return {"callables": len(calls), "callables_past": sum(1 for n in calls if passed[n] > 0),
            "calls": sum(calls.values()), "calls_past": sum(passed.values()),
            "never_past": sorted(n for n in calls if passed[n] == 0), "inputs_with_findings": findings}
