"""The `luahammer` command: one entry for what a fuzzing user does with a build tree,
its subcommands and their flags from one table (flags.py)."""

import argparse
import os
import subprocess
import sys

from . import cli
from .common import ROOT, Fatal, read_json
from .flags import add_flags
from .processes import sanitizer_env
from .report import write_reports
from .targets import read_manifest

PROG = "luahammer"


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Fatal(f"{message} (see {self.prog} --help)")


def build_dir(args):
    """The build tree whose manifest names the targets: --build-dir, else build/fuzz here."""
    path = os.path.abspath(args.build_dir) if args.build_dir else os.path.join(ROOT, "build", "fuzz")
    if not os.path.isdir(path):
        raise Fatal(f"no build tree at {path} (give --build-dir)")
    return path


def row_of(args):
    rows = read_manifest(build_dir(args))
    if args.target not in rows:
        raise Fatal(f"no fuzz target '{args.target}' in {build_dir(args)} (known: {', '.join(sorted(rows)) or 'none'})")
    return rows[args.target]


def existing(paths):
    for path in paths:
        if not os.path.exists(path):
            raise Fatal(f"no such input: {path}")
    return paths


def run_fuzz(args, rest):
    return cli.entry_point(rest, prog=f"{PROG} fuzz")


def run_replay(args, rest):
    return subprocess.run([row_of(args)["replay"], *existing(args.inputs)], env=sanitizer_env()).returncode


def run_explain(args, rest):
    return subprocess.run([row_of(args)["replay"], "--explain", *existing(args.inputs)],
                          env=sanitizer_env()).returncode


def run_minimize(args, rest):
    row = row_of(args)
    if row["fuzzer"] == "-":
        raise Fatal(f"{args.target} has no fuzzer binary in this build tree (configure it with LUAHAMMER_MODE=fuzz)")
    existing([args.input])
    output = os.path.abspath(args.output or args.input + ".min")
    result = subprocess.run([row["fuzzer"], "-minimize_crash=1", f"-runs={args.runs}",
                             f"-exact_artifact_path={output}", args.input], env=sanitizer_env(light=True))
    if not os.path.exists(output):
        raise Fatal(f"libFuzzer wrote no minimized input (exit {result.returncode}): does {args.input} crash?")
    print(f"{PROG}: minimized {os.path.getsize(args.input)} -> {os.path.getsize(output)} bytes: {output}")
    return 0


def run_report(args, rest):
    out = os.path.abspath(args.out)
    run_state = read_json(os.path.join(out, "run.json"), None)
    if run_state is None:
        raise Fatal(f"no campaign in {out} (no run.json)")
    args.out = out
    write_reports(args, run_state)
    print(f"{PROG}: {os.path.join(out, 'report.html')}")
    return 0


def script(name, to_argv):
    """A command carried out by a script of the checkout, with the flags parsed here."""
    def run(args, rest):
        path = os.path.join(ROOT, "ci", name)
        if not os.path.exists(path):
            raise Fatal(f"this command needs luahammer's checkout (ci/{name}); an installed luahammer has none")
        return subprocess.run(["bash", path, *to_argv(args)]).returncode
    return run


def option(flag, value):
    return [] if value is None or value is False else [flag] if value is True else [flag, str(value)]


def coverage_argv(a):
    return [*option("--out", a.out), *option("--targets", a.targets), *option("--no-build", a.no_build),
            *a.corpus_roots]


def canaries_argv(a):
    return [*option("--budget", a.budget), *option("--runs", a.runs), *option("--out", a.out),
            *option("--cases-only", a.cases_only), *a.names]


# name: (what it does, flag names in flags.FLAGS, handler; None: the campaign's own parser,
# built from the same table)
SUBCOMMANDS = {
    "fuzz": ("the fuzz campaign over a build tree's targets (the nightly); its flags: luahammer fuzz --help",
             None, run_fuzz),
    "replay": ("run inputs through a target's replay binary (no libFuzzer), with full sanitizer reports",
               ["build-dir", "target", "inputs"], run_replay),
    "explain": ("print what an input does, step by step as it runs", ["build-dir", "target", "inputs"], run_explain),
    "minimize": ("minimize a crashing input (libFuzzer -minimize_crash)",
                 ["build-dir", "runs", "output", "target", "input"], run_minimize),
    "report": ("write summary.json and report.html again from a campaign's folder", ["out"], run_report),
    "coverage": ("line coverage of the binding core from corpora, with llvm-cov (a checkout)",
                 ["coverage-out", "coverage-targets", "no-build", "corpus-roots"],
                 script("coverage.sh", coverage_argv)),
    "canaries": ("switch catalogued bugs back in, one at a time, and time their detection (a checkout)",
                 ["budget", "canary-runs", "canary-out", "cases-only", "canary-names"],
                 script("canaries.sh", canaries_argv)),
    "fetch-module": ("fetch pinned, checksummed Lua C module sources from Debian (a checkout)",
                     ["modules-to-fetch"], script("fetch-module.sh", lambda a: a.names)),
}


def parser():
    p = Parser(prog=PROG, description="luahammer: fuzz and stress-test Lua 5.4 bindings. "
                                      "Exit status: 0 done, 1 a finding or failure, 2 a usage or setup error.")
    subs = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (what, flags, _) in SUBCOMMANDS.items():
        sub = subs.add_parser(name, help=what, description=what, add_help=flags is not None)
        if flags is not None:
            add_flags(sub, flags)
    return p


def main(argv):
    p = parser()
    if not argv or argv[0] in ("-h", "--help"):
        p.print_help()
        return 0 if argv else 2
    name = argv[0]
    if name not in SUBCOMMANDS:
        raise Fatal(f"unknown command '{name}' (known: {', '.join(SUBCOMMANDS)})")
    _, flags, handler = SUBCOMMANDS[name]
    if flags is None:
        return handler(None, argv[1:])
    args = p.parse_args(argv)
    return handler(args, [])


def entry_point(argv):
    try:
        return main(argv)
    except Fatal as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
