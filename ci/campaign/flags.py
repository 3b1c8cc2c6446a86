"""The one table of the `luahammer` command's flags: each subcommand lists the names it takes,
and its --help is built from these rows (the campaign's own parser reads them too)."""

import argparse
import os
import re

from .common import ROOT


def bounded_int(low, high):
    def parse(text):
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            raise ValueError(f"must be an integer from {low} to {high}, got '{text}'")
        return int(text)
    return parse


# name: (flags, argparse keyword arguments)
FLAGS = {
    "minutes": (["--minutes"], dict(type=bounded_int(1, 10080), default=3,
                                    help="total fuzzing budget, 1 to 10080 (a week) (default 3)")),
    "executions": (["--executions"], dict(type=bounded_int(1, 999999999), default=None, metavar="N",
                                          help="a fixed budget: each target stops after N executions (libFuzzer's "
                                               "-runs, which fork mode honours at the end of the job past N); "
                                               "--minutes is then each target's time limit, not the total")),
    "jobs": (["--jobs"], dict(type=bounded_int(1, 64), default=1,
                              help="libFuzzer -fork jobs per target, 1 to 64 (default 1)")),
    "targets": (["--targets"], dict(default="", help="comma-separated targets (default: all)")),
    "out": (["--out"], dict(default=os.path.join(ROOT, "out", "nightly"),
                            help="the campaign's folder (default out/nightly)")),
    "preset": (["--preset"], dict(default=None,
                                  help="build preset (default fuzz; canary-fuzz when LUAHAMMER_CANARY is set)")),
    "build-dir": (["--build-dir"], dict(default=None, metavar="DIR",
                                        help="a build tree configured with luahammer's CMake helpers (a binding's "
                                             "own project); its manifest luahammer-targets.tsv lists the targets "
                                             "(default: build/<preset> of this checkout)")),
    "known-findings": (["--known-findings"], dict(default=None, metavar="FILE",
                                                  help="signatures to suppress, one `<signature> <reason>` a line: "
                                                       "kept and counted apart, not findings (default: "
                                                       "OUT/known-findings.txt when it exists)")),
    "update-corpus": (["--update-corpus"], dict(action="store_true",
                                                help="merge new coverage back into corpus/<target>/ for committing")),
    "modules": (["--modules"], dict(action="store_true", help="include the third-party module fuzzers")),
    "no-coverage": (["--no-coverage"], dict(action="store_true", help="skip the llvm-cov report")),
    "no-build": (["--no-build"], dict(action="store_true", help="use the binaries already built")),
    "fresh": (["--fresh"], dict(action="store_true", help="start a new run even if the last one was interrupted")),
    "runs": (["--runs"], dict(type=bounded_int(1, 10**8), default=20000,
                              help="libFuzzer runs for minimizing (default 20000)")),
    "output": (["--output"], dict(default=None, metavar="FILE",
                                  help="where the minimized input goes (default: INPUT.min)")),
    "coverage-out": (["--out"], dict(default=None, metavar="DIR", help="where the coverage report goes "
                                                                        "(default out/coverage)")),
    "coverage-targets": (["--targets"], dict(default=None, help="comma-separated targets (default: all)")),
    "corpus-roots": (["corpus_roots"], dict(nargs="*", metavar="CORPUS_ROOT",
                                            help="folders holding <target>/ corpora (default: corpus/)")),
    "budget": (["--budget"], dict(type=bounded_int(1, 86400), default=None, metavar="SECONDS",
                                  help="fuzzing budget per canary and run (default 300)")),
    "canary-runs": (["--runs"], dict(type=bounded_int(1, 100), default=None, metavar="N",
                                     help="runs per canary (default 5)")),
    "canary-out": (["--out"], dict(default=None, metavar="DIR", help="results folder (default out/canaries)")),
    "cases-only": (["--cases-only"], dict(action="store_true", help="only check that each regression case fails "
                                                                    "with its canary on")),
    "canary-names": (["names"], dict(nargs="*", metavar="NAME", help="canaries (default: all 18)")),
    "modules-to-fetch": (["names"], dict(nargs="+", metavar="NAME",
                                         help="module source packages (lua-cjson, lua-lpeg; --all for both)")),
    "target": (["target"], dict(help="the fuzz target, as the build tree's manifest names it")),
    "inputs": (["inputs"], dict(nargs="+", metavar="INPUT", help="input files or folders")),
    "input": (["input"], dict(metavar="INPUT", help="a crashing input file")),
}


def add_flags(parser, names):
    for name in names:
        flags, kwargs = FLAGS[name]
        kwargs = dict(kwargs)
        if "type" in kwargs:
            kind = kwargs["type"]

            def checked(text, kind=kind):
                try:
                    return kind(text)
                except ValueError as error:
                    raise argparse.ArgumentTypeError(str(error))
            kwargs["type"] = checked
        parser.add_argument(*flags, **kwargs)
