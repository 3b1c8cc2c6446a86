"""The campaign's command line and its main loop."""

import argparse
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys

from .common import ROOT, Fatal, count_files, read_json, say, write_json
from .flags import add_flags
from .history import argument_checks, check_known_findings, record_night
from .findings import (collect_escapes, collect_findings, collect_suppressed, mark_reported, process_artifacts,
                       read_known, unreported)
from .libfuzzer import finish_merge, fuzz, merge
from .processes import Groups
from .report import write_reports
from .state import RunState, continues, new_run_state
from .targets import Target, read_manifest

# -------------------------------------------------------------------------- main

class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Fatal(f"{message} (see --help)")


FUZZ_FLAGS = ["minutes", "executions", "jobs", "targets", "out", "preset", "build-dir", "known-findings", "update-corpus",
              "modules", "no-coverage", "no-build", "fresh"]
DESCRIPTION = ("The fuzz campaign (the nightly): every fuzz target of a build tree in fork mode, unique "
               "minimized findings, a merged working corpus, summary.json, report.html and a coverage report. "
               "Exit status: 0 clean, 1 new unique findings, 2 setup or usage error.")


def parse(argv, prog="ci/nightly.sh"):
    p = Parser(prog=prog, description=DESCRIPTION)
    add_flags(p, FUZZ_FLAGS)
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
    if args.build_dir is not None:
        args.build_dir = os.path.abspath(args.build_dir)
        if not os.path.isdir(args.build_dir):
            raise Fatal(f"--build-dir {args.build_dir}: no such folder")
        args.modules = True  # a binding's tree: its module fuzzers are what it is there for
    known = args.known_findings or os.path.join(args.out, "known-findings.txt")
    if args.known_findings is not None and not os.path.isfile(known):
        raise Fatal(f"--known-findings {known}: no such file")
    args.known = read_known(known) if os.path.isfile(known) else {}
    canary = os.environ.get("LUAHAMMER_CANARY")
    if args.preset is None:
        args.preset = "canary-fuzz" if canary else "fuzz"
    if canary and args.preset != "canary-fuzz":
        raise Fatal(f"LUAHAMMER_CANARY={canary} needs --preset canary-fuzz (the {args.preset} preset has no canaries)")
    if canary and canary not in known_canaries():
        raise Fatal(f"LUAHAMMER_CANARY={canary} is no canary (known: {', '.join(known_canaries())})")
    return args


def known_canaries():
    """The canary names of binding/include/cxxlua/canaries.def, the one table of them."""
    with open(os.path.join(ROOT, "binding", "include", "cxxlua", "canaries.def")) as f:
        return re.findall(r"^CXXLUA_CANARY_ROW\((\w+),", f.read(), re.M)


def built_by(args):
    """What the report names as the build: the preset, or the build tree given."""
    return args.build_dir if args.build_dir is not None else args.preset


def build(args):
    if args.no_build:
        return
    log = os.path.join(args.out, "build.log")
    if args.build_dir is not None:
        commands = [["cmake", "--build", args.build_dir]]
    else:
        commands = [["bash", "ci/setup.sh"], ["cmake", "--preset", args.preset],
                    ["cmake", "--build", "--preset", args.preset]]
    with open(log, "w") as f:
        for cmd in commands:
            if subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
                raise Fatal(f"'{' '.join(cmd)}' failed (see {log})")


def discover(args, build_dir):
    """The campaign's targets: the manifest's rows with a fuzzer binary, the comparison
    targets left out, the modules' only with --modules; or those --targets names."""
    rows = read_manifest(build_dir)
    names = sorted(n for n, r in rows.items() if r["fuzzer"] != "-" and os.path.exists(r["fuzzer"])
                   and (r["role"] == "campaign" or (r["role"] == "module" and args.modules)))
    if args.targets:
        wanted = list(dict.fromkeys(t for t in args.targets.split(",") if t))  # each once, in order
        for t in wanted:
            if t not in names:
                raise Fatal(f"no fuzz target '{t}' in {os.path.relpath(build_dir, ROOT)} "
                            f"(known: {', '.join(names) or 'none'})")
        names = wanted
    if not names:
        raise Fatal(f"no fuzz targets are built in {os.path.relpath(build_dir, ROOT)}")
    return {n: rows[n] for n in names}


def main(argv, prog="ci/nightly.sh"):
    args = parse(argv, prog)
    os.makedirs(args.out, exist_ok=True)
    lock = open(os.path.join(args.out, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise Fatal(f"another nightly is running on {args.out}")
    Groups.start(args.out)
    build(args)
    build_dir = args.build_dir or os.path.join(ROOT, "build", args.preset)
    rows = discover(args, build_dir)
    names = list(rows)

    state_path = os.path.join(args.out, "run.json")
    run_state: RunState = read_json(state_path, None)
    canary = os.environ.get("LUAHAMMER_CANARY")
    if not args.fresh and continues(run_state, built_by(args), args.minutes, names, canary, args.executions):
        done = [n for n, t in run_state["targets"].items() if t.get("status") == "done"]
        say(f"continuing the interrupted run {run_state['id']} (done: {', '.join(done) or 'none'})")
    else:
        run_state = new_run_state(built_by(args), args.minutes, names, canary, args.executions)
    write_json(state_path, run_state)

    # A fixed budget of executions gives each target all the minutes as its limit.
    share = args.minutes * 60 if args.executions else max(10, args.minutes * 60 // len(names))
    for name in names:
        entry = run_state["targets"][name]
        if entry.get("status") == "done":
            continue
        target = Target(rows[name], args)
        log_path = os.path.join(target.work, f"{run_state['id']}.log")
        # Leftovers of an interrupted run first: crash files, then a half-done merge.
        target.tidy()
        process_artifacts(target, args, run_state)
        finish_merge(target, log_path)
        process_artifacts(target, args, run_state)
        budget = f"{args.executions} executions (at most {share} s)" if args.executions else f"{share} s"
        say(f"{name}: fuzzing for {budget} (fork jobs {args.jobs}), corpus {count_files(target.corpus)} "
            f"+ {len(target.seed_dirs()) and count_files(target.seeds)} seeds")
        entry["status"] = "fuzzing"
        write_json(state_path, run_state)
        status, series = fuzz(target, args, share, log_path)
        entry["series"] = series
        entry["seconds"] = series[-1]["t"] if series else 0
        entry["libfuzzer_status"] = status
        new = process_artifacts(target, args, run_state)
        merged = finish_merge(target, log_path)
        new += process_artifacts(target, args, run_state)  # crashes found while merging
        shutil.rmtree(target.tmp, ignore_errors=True)
        entry["corpus_files"] = count_files(target.corpus)
        if rows[name]["role"] == "module":
            checks = argument_checks(target, target.corpus)
            if checks:
                entry["argument_checks"] = checks
                say(f"{name}: {checks['callables_past']} of {checks['callables']} callables called got past their "
                    f"argument check at least once ({checks['calls_past']} of {checks['calls']} calls)")
        entry["unique_findings"] = sum(1 for n in os.listdir(target.crashes)
                                       if os.path.exists(os.path.join(target.crashes, n, "info.json")))
        started = bool(series) or status in (0, None)
        entry["status"] = "done" if merged and started else "merge-failed" if started else "failed-to-start"
        write_json(state_path, run_state)
        s = series[-1] if series else {}
        if started:
            say(f"{name}: done: exec/s {s.get('exec_s', '?')}, cov {s.get('cov', '?')}, corpus "
                f"{entry['corpus_files']} files, {len(new)} new unique finding(s), {entry['unique_findings']} in total")
        else:
            say(f"{name}: libFuzzer exited {status} without fuzzing: {last_lines(log_path)} (see {log_path})")
        run_state["new_findings"] = unreported(args.out)
        write_reports(args, run_state)

    if args.update_corpus:
        for name in names:
            target = Target(rows[name], args)
            os.makedirs(target.seeds, exist_ok=True)
            before = count_files(target.seeds)
            if merge(target, os.path.join(target.work, f"{run_state['id']}.log"), target.seeds, [target.corpus]):
                say(f"{name}: corpus/{name}: {before} -> {count_files(target.seeds)} files (new coverage only)")

    run_state["new_findings"] = unreported(args.out)
    run_state["complete"] = True
    write_json(state_path, run_state)
    measured = False
    if args.build_dir is not None and not args.no_coverage:
        say("coverage: not measured for a build tree of a binding's own (configure one with "
            "LUAHAMMER_MODE=coverage and replay the corpus there)")
    elif not args.no_coverage:
        cmd = ["bash", os.path.join(ROOT, "ci", "coverage.sh"), "--out", os.path.join(args.out, "coverage"),
               "--targets", ",".join(names),
               os.path.join(args.out, "corpus")]
        if args.no_build:
            cmd.insert(2, "--no-build")
        if subprocess.run(cmd, cwd=ROOT).returncode == 2:
            say("the coverage report failed (the campaign's results stand)")
        else:
            measured = True
    # Night after night: the stored findings not seen tonight replayed (fixed or known),
    # and tonight's figures added to history.json.
    check_known_findings(args.out, {n: Target(rows[n], args) for n in names}, run_state)
    record_night(args.out, run_state,
                 read_json(os.path.join(args.out, "coverage", "coverage.json"), None) if measured else None)
    write_reports(args, run_state)

    findings = collect_findings(args.out)
    new = run_state["new_findings"]
    escapes = collect_escapes(args.out)
    failed = [n for n, t in run_state["targets"].items() if t.get("status") == "failed-to-start"]
    suppressed = collect_suppressed(args.out)
    say(f"summary: {len(names)} target(s), {len(findings)} unique finding(s), {len(new)} new, "
        f"{len(escapes)} budget escape(s) (not findings), {len(suppressed)} known finding(s) suppressed "
        f"({sum(s.get('count', 0) for s in suppressed)} time(s)); report {os.path.join(args.out, 'report.html')}")
    mark_reported(args.out)
    if failed:
        raise Fatal(f"target(s) that could not start fuzzing: {', '.join(failed)} (their logs are under "
                    f"{os.path.join(args.out, 'work')})")
    return 1 if new else 0



def entry_point(argv, prog="ci/nightly.sh"):
    """Exit status 0 clean, 1 new findings, 2 a setup or usage error (one line), 130
    interrupted; the child process groups are killed on every path out."""
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    name = os.path.basename(prog.split()[0])
    try:
        return main(argv, prog)
    except Fatal as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        print(f"{name}: {error.strerror or error}{where}; what was stored before stays", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130
    finally:
        try:
            Groups.kill_all()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(entry_point(sys.argv[1:]))


def last_lines(path, n=1):
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip() and not line.startswith("$ ")]
        return " / ".join(lines[-n:]) or "(no output)"
    except OSError:
        return "(no log)"
