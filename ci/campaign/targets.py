"""The fuzz targets of a build tree, from its manifest (luahammer-targets.tsv)."""

import os
import shutil

from .common import ROOT, FINDING_PREFIXES, Fatal
from .processes import sanitizer_env

# ------------------------------------------------------------------------- targets

MANIFEST = "luahammer-targets.tsv"
MANIFEST_COLUMNS = ("name", "role", "fuzzer", "replay", "seeds", "regressions", "options")


def read_manifest(build_dir):
    """The rows of the build tree's manifest (written by CMake: cmake/LuahammerHelpers.cmake,
    luahammer_manifest_row): every fuzz target of the build, ours and a user's alike."""
    path = os.path.join(build_dir, MANIFEST)
    if not os.path.exists(path):
        raise Fatal(f"no {MANIFEST} in {os.path.relpath(build_dir, ROOT)} (configure it with cmake first)")
    rows = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(MANIFEST_COLUMNS):
                raise Fatal(f"{path}:{number}: expected {len(MANIFEST_COLUMNS)} tab-separated columns")
            row = dict(zip(MANIFEST_COLUMNS, fields))
            rows[row["name"]] = row
    return rows


class Target:
    def __init__(self, row, args):
        self.name = name = row["name"]
        self.binary = row["fuzzer"]
        self.replay = row["replay"]
        self.seeds = row["seeds"]
        self.options = self.read_options(row["options"])
        self.work = os.path.join(args.out, "work", name)
        self.new = os.path.join(self.work, "new")
        self.artifacts = os.path.join(self.work, "artifacts")
        self.control = os.path.join(self.work, "merge.control")
        self.corpus = os.path.join(args.out, "corpus", name)
        self.crashes = os.path.join(args.out, "crashes", name)
        self.tmp = os.path.join(self.work, "tmp")
        for d in (self.new, self.artifacts, self.corpus, self.crashes, self.tmp):
            os.makedirs(d, exist_ok=True)

    def env(self):
        """The sanitizers' options, and TMPDIR in the target's own folder: libFuzzer's fork
        mode keeps its temporary folders there, and a killed run's are wiped."""
        env = sanitizer_env(light=True)
        env["TMPDIR"] = self.tmp
        return env

    def tidy(self):
        """What an interrupted run left: crash files written into the working folder (by
        merges before they had an artifact prefix) go where they are processed; temporary
        folders and half-stored findings are removed."""
        for name in os.listdir(self.work):
            if name.startswith(FINDING_PREFIXES):
                os.replace(os.path.join(self.work, name), os.path.join(self.artifacts, name))
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp, exist_ok=True)
        for name in os.listdir(self.crashes):
            if name.startswith(".tmp-"):
                shutil.rmtree(os.path.join(self.crashes, name), ignore_errors=True)

    @staticmethod
    def read_options(path):
        """The target's `.options` file: libFuzzer flags, dict path made absolute."""
        flags = {}
        if os.path.exists(path):
            for line in open(path):
                line = line.strip()
                if "=" not in line or line.startswith(("[", "#")):
                    continue
                key, value = (s.strip() for s in line.split("=", 1))
                if key == "dict":
                    value = os.path.join(os.path.dirname(path), value)
                flags[key] = value
        return flags

    def flags(self, *keys):
        return [f"-{k}={v}" for k, v in self.options.items() if not keys or k in keys]

    def seed_dirs(self):
        return [self.seeds] if os.path.isdir(self.seeds) and os.listdir(self.seeds) else []
