#!/usr/bin/env python3
"""luahammer's nightly campaign (run it through ci/nightly.sh).

For each fuzz target: fuzz in libFuzzer's fork mode on a working corpus, turn the crash
files into unique, minimized, confirmed findings, merge the new inputs into the working
corpus (resumably), then write summary.json and report.html, and a coverage report.

Every file a user keeps (findings, corpus, reports) is written to a temporary name and
renamed into place, so killing the run at any moment loses nothing already stored, and
a rerun continues the interrupted run.
"""

import argparse
import ctypes
import fcntl
import hashlib
import html
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FINDING_PREFIXES = ("crash-", "leak-", "timeout-", "oom-")
PROGRESS_EVERY = 15.0  # seconds between progress lines
MINIMIZE_SECONDS = 60


def say(message):
    print(f"nightly: {message}", flush=True)


class Fatal(Exception):
    """A setup or usage error: one line, exit status 2."""


# ---------------------------------------------------------------------------- files

def write_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, value):
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as error:
        raise Fatal(f"{path} is unreadable ({error}); move it away or pass --fresh")


def count_files(path):
    return sum(1 for e in os.scandir(path) if e.is_file()) if os.path.isdir(path) else 0


# ---------------------------------------------------------------------- signatures

SANITIZER_LINE = re.compile(
    r"(ERROR: (AddressSanitizer|LeakSanitizer|MemorySanitizer|libFuzzer): .*"
    r"|WARNING: ThreadSanitizer: .*|runtime error: .*|Assertion `.*' failed.*)")
OUR_LINE = re.compile(r"^(luahammer|cxxlua): .*")
FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (.+?) (/\S+?)(?::(\d+))?(?::\d+)?$")
# Code under test and ours; a fuzzed module's own frames come first in its reports.
OUR_DIRS = ("binding/", "harness/", "fuzz/", "repro/", "modules/", "third_party/modules/")
# Frames that only report a finding: they say nothing about where it happened.
REPORTING_FILES = ("harness/core/src/oracles.cc", "harness/opvm/src/binding_oracles.cc", "binding/src/stack_guard.cc", "binding/include/cxxlua/stack_guard.hpp")


def function_name(frame):
    """A frame's function without template arguments or parameters: the instantiation
    (register_type<Probe> vs register_type<Fragile>) is not a different bug."""
    previous = None
    while previous != frame:
        previous = frame
        frame = re.sub(r"<[^<>]*>|\([^()]*\)", "", frame)
    return frame.replace(" const", "").strip()


def first_report_line(output):
    """The first oracle or sanitizer line of a report, with run-specific parts removed."""
    for raw in output.splitlines():
        line = re.sub(r"^==\d+==\s*", "", raw.strip())
        if OUR_LINE.match(line):
            return line
        m = SANITIZER_LINE.search(line)
        if m:
            return m.group(0)
    return None


def normalize(line):
    line = re.sub(r"0x[0-9a-fA-F]+", "0x", line)
    line = re.sub(r"\b\d+\b", "N", line)
    line = re.sub(r"\s+(on address|at pc|bp|sp) 0x.*", "", line)
    return line[:160]


def our_frames(output, limit=2):
    """Function names of the top two frames in luahammer's own code (else of any code).
    Two, not three: the third is usually a caller (set-up or lazy registration) and
    would split one bug into several signatures."""
    ours, anyf = [], []
    for raw in output.splitlines():
        m = FRAME.match(raw)
        if not m:
            continue
        func, path = m.group(2), m.group(3)
        rel = os.path.relpath(path, ROOT) if path.startswith(ROOT + "/") else None
        if "compiler-rt" in path or "libFuzzer" in path or "/sanitizer_common/" in path:
            continue
        func = function_name(func)
        anyf.append(func)
        if rel and rel.startswith(OUR_DIRS) and not rel.startswith(REPORTING_FILES):
            ours.append(func)
    chosen = ours or anyf
    return chosen[:limit]


def slug(text, size=48):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:size].strip("-") or "unknown"


# Reports whose stack says where the input happened to be, not where a bug is: a timeout
# and a budget escape are one signature per target, whatever was running at the moment.
FRAMELESS = re.compile(r"libFuzzer: timeout|luahammer: budget escape")
ESCAPE = re.compile(r"^luahammer: budget escape")


def signature(output):
    line = first_report_line(output)
    if line is None:
        return None, None, []
    kind = normalize(line)
    frames = [] if FRAMELESS.search(line) else our_frames(output)
    digest = hashlib.sha1((kind + "\n" + "\n".join(frames)).encode()).hexdigest()[:10]
    kind_slug = slug(re.sub(r"^(luahammer|cxxlua): ", r"\1 ", kind).replace("ERROR: ", ""))
    return f"{kind_slug}-{digest}", line, frames


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


def die_with_parent():
    """Children get SIGKILL when the nightly dies (even by kill -9)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


class Groups:
    """Every child leads a process group of its own, recorded in OUT/children.json while
    it runs: libFuzzer's fork and merge modes start grandchildren that the death signal of
    the direct child does not reach. Every exit path kills the groups; a rerun after kill -9
    kills the ones the killed run left (checked by their command line: a group id may have
    been reused by an unrelated process)."""
    path = None
    live = set()

    @classmethod
    def start(cls, out):
        cls.path = os.path.join(out, "children.json")
        for pgid in read_json(cls.path, []):
            cls.kill(pgid, only_ours=True)
        cls.live = set()
        cls.save()

    @classmethod
    def save(cls):
        if cls.path:
            write_json(cls.path, sorted(cls.live))

    @classmethod
    def add(cls, pid):
        cls.live.add(pid)
        cls.save()

    @classmethod
    def done(cls, pid):
        cls.kill(pid)  # grandchildren of a finished child (an inner merge) end with it
        cls.live.discard(pid)
        cls.save()

    @staticmethod
    def members(pgid):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        pids.append((int(entry), f.read().decode(errors="replace")))
            except (OSError, IndexError, ValueError):
                continue
        return pids

    @classmethod
    def kill(cls, pgid, only_ours=False):
        members = cls.members(pgid)
        if only_ours and not any(ROOT in cmd or "_fuzzer" in cmd or "_replay" in cmd for _, cmd in members):
            return
        if members:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass

    @classmethod
    def kill_all(cls):
        for pgid in list(cls.live):
            cls.kill(pgid)
        cls.live = set()
        cls.save()


def spawn(cmd, **kw):
    """Popen in a process group of its own, recorded until it is reaped (Groups.done)."""
    proc = subprocess.Popen(cmd, start_new_session=True, preexec_fn=die_with_parent, **kw)
    Groups.add(proc.pid)
    return proc


def run(cmd, timeout, env=None, cwd=None):
    """Runs cmd, returns (exit status, combined output); a hang is killed and reported."""
    proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, errors="replace", text=True,
                 cwd=cwd)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        Groups.kill(proc.pid)
        out, _ = proc.communicate()
        return None, (out or "") + f"\n(nightly: killed after {timeout} s)\n"
    finally:
        Groups.done(proc.pid)


# Fuzz light, report heavy: fuzzing and merging keep no allocation stacks (ASan's stack
# depot took a quarter of the op targets' time; detection does not depend on them), and
# every crash file is replayed with full stacks for its report and signature.
FUZZ_ASAN_OPTIONS = "symbolize=1:detect_leaks=1:malloc_context_size=0"
REPORT_ASAN_OPTIONS = "symbolize=1:detect_leaks=1"


def sanitizer_env(light=False):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", FUZZ_ASAN_OPTIONS if light else REPORT_ASAN_OPTIONS)
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


# --------------------------------------------------------------------- findings

def reproduce(target, path):
    timeout = int(target.options.get("timeout", "25"))
    cmd = [target.binary, *target.flags("timeout", "rss_limit_mb", "malloc_limit_mb"), path]
    return run(cmd, timeout=timeout * 3 + 30, env=sanitizer_env())


def minimize(target, path, scratch):
    """libFuzzer's -minimize_crash; returns the smallest input that still crashes."""
    out = os.path.join(scratch, "minimized")
    cmd = [target.binary, "-minimize_crash=1", f"-max_total_time={MINIMIZE_SECONDS}",
           f"-exact_artifact_path={out}", *target.flags("timeout", "rss_limit_mb"), path]
    run(cmd, timeout=MINIMIZE_SECONDS * 3 + 60, env=sanitizer_env(light=True))
    return out if os.path.exists(out) and os.path.getsize(out) <= os.path.getsize(path) else path


def explain(target, folder, name):
    if not os.path.exists(target.replay):
        return "(no replay binary)\n"
    status, output = run([target.replay, "--explain", name], timeout=120, env=sanitizer_env(), cwd=folder)
    return output


def process_artifacts(target, args, run_state):
    """Turns libFuzzer's crash files into unique findings; returns the new signatures."""
    new_signatures = []
    for name in sorted(os.listdir(target.artifacts)):
        path = os.path.join(target.artifacts, name)
        if not name.startswith(FINDING_PREFIXES) or ".tmp" in name:
            continue
        status, report = reproduce(target, path)
        sig, line, frames = signature(report)
        if status == 0 or sig is None:
            # Did not reproduce in a fresh process: keep it aside, never delete it.
            flaky = os.path.join(target.crashes, "unreproduced")
            os.makedirs(flaky, exist_ok=True)
            write_atomic(os.path.join(flaky, name + ".report.txt"), report)
            os.replace(path, os.path.join(flaky, name))
            say(f"{target.name}: {name} did not reproduce; kept in {os.path.relpath(flaky, args.out)}")
            continue
        if ESCAPE.match(line):
            store_escape(target, args, name, path, sig, line, report)
            continue
        final = os.path.join(target.crashes, sig)
        if os.path.isdir(final):
            info = read_json(os.path.join(final, "info.json"), {})
            info["count"] = info.get("count", 1) + 1
            info["last_seen"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            write_json(os.path.join(final, "info.json"), info)
            os.remove(path)
            continue
        say(f"{target.name}: new finding {sig}: {line}")
        scratch = os.path.join(target.crashes, f".tmp-{sig}")
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        shutil.copyfile(path, os.path.join(scratch, "original"))
        smallest = path
        if name.startswith(("crash-", "leak-")):
            smallest = minimize(target, path, scratch)
        status2, report2 = reproduce(target, smallest)
        sig2, _, _ = signature(report2)
        if smallest != path and sig2 != sig:
            say(f"{target.name}: the minimized input changed the signature ({sig2}); keeping the original")
            smallest, report2, sig2 = path, report, sig
        confirmed = status2 != 0 and sig2 == sig
        shutil.copyfile(smallest, os.path.join(scratch, "input"))
        if os.path.exists(os.path.join(scratch, "minimized")):
            os.remove(os.path.join(scratch, "minimized"))
        write_atomic(os.path.join(scratch, "report.txt"), report2)
        write_atomic(os.path.join(scratch, "explain.txt"), explain(target, scratch, "input"))
        stored = os.path.join(os.path.relpath(final, ROOT) if final.startswith(ROOT + "/") else final, "input")
        canary = f"LUAHAMMER_CANARY={shlex.quote(os.environ['LUAHAMMER_CANARY'])} " if os.environ.get("LUAHAMMER_CANARY") else ""
        info = {
            "target": target.name, "signature": sig, "first_line": line, "frames": frames,
            "kind": name.split("-", 1)[0], "count": 1, "confirmed": confirmed,
            "input_bytes": os.path.getsize(os.path.join(scratch, "input")),
            "original_bytes": os.path.getsize(path),
            "first_seen": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "run": run_state["id"], "reported": False,
            "reproduce": f"{canary}{shlex.quote(os.path.relpath(target.binary, ROOT))} {shlex.quote(stored)}",
            "explain": f"{canary}{shlex.quote(os.path.relpath(target.replay, ROOT))} --explain {shlex.quote(stored)}",
        }
        write_json(os.path.join(scratch, "info.json"), info)
        os.rename(scratch, final)  # the finding appears whole or not at all
        os.remove(path)
        new_signatures.append(sig)
        say(f"{target.name}: stored {os.path.relpath(final, args.out)} ({info['input_bytes']} bytes"
            f"{', minimized from %d' % info['original_bytes'] if info['input_bytes'] < info['original_bytes'] else ''}"
            f", {'confirmed' if confirmed else 'NOT confirmed'})")
    return new_signatures


def store_escape(target, args, name, path, sig, line, report):
    """A budget escape is not a finding: kept under OUT/escapes/<target>/<signature>/ (the
    first input, its report and a count), so the sandbox can be given a bound for it."""
    folder = os.path.join(args.out, "escapes", target.name, sig)
    os.makedirs(folder, exist_ok=True)
    info = read_json(os.path.join(folder, "info.json"), None)
    if info is None:
        shutil.copyfile(path, os.path.join(folder, "input"))
        write_atomic(os.path.join(folder, "report.txt"), report)
        info = {"target": target.name, "signature": sig, "first_line": line, "count": 0,
                "reproduce": f"{os.path.relpath(target.binary, ROOT)} {os.path.join(folder, 'input')}"}
        say(f"{target.name}: budget escape (not a finding) {sig}; kept in {os.path.relpath(folder, args.out)}")
    info["count"] += 1
    write_json(os.path.join(folder, "info.json"), info)
    os.remove(path)


def collect_escapes(out):
    root = os.path.join(out, "escapes")
    found = []
    for target in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        for sig in sorted(os.listdir(os.path.join(root, target))):
            info = read_json(os.path.join(root, target, sig, "info.json"), None)
            if info:
                found.append(info)
    return found


# ----------------------------------------------------------------- fuzz and merge

STATUS = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+) "
                    r"oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s")


def fuzz(target, args, seconds, log_path):
    cmd = [target.binary, f"-fork={args.jobs}", "-ignore_crashes=1", "-ignore_timeouts=1",
           "-ignore_ooms=1", f"-max_total_time={seconds}", f"-artifact_prefix={target.artifacts}/",
           "-print_funcs=0", *target.flags(), target.new, target.corpus, *target.seed_dirs()]
    series = []
    started = time.monotonic()

    def read(proc, log):
        for line in proc.stdout:
            log.write(line)
            m = STATUS.match(line)
            if m:
                execs, cov, ft, corp, eps, ooms, touts, crashes, t = map(int, m.groups())
                series.append({"t": t, "cov": cov, "ft": ft, "corpus": corp, "exec_s": eps,
                               "execs": execs, "crashes": crashes, "timeouts": touts, "ooms": ooms})

    with open(log_path, "a") as log:
        log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                     env=target.env(), cwd=target.work)
        reader = threading.Thread(target=read, args=(proc, log), daemon=True)
        reader.start()
        while reader.is_alive():
            reader.join(PROGRESS_EVERY)
            elapsed = int(time.monotonic() - started)
            if reader.is_alive():
                s = series[-1] if series else {}
                say(f"{target.name}: {min(elapsed, seconds)}/{seconds} s, exec/s {s.get('exec_s', '-')}, "
                    f"cov {s.get('cov', '-')}, corpus {s.get('corpus', '-')}, crashes {s.get('crashes', 0)}, "
                    f"timeouts {s.get('timeouts', 0)}, ooms {s.get('ooms', 0)}")
            if elapsed > seconds + 300:
                log.write("nightly: libFuzzer overran its budget by 300 s; stopped\n")
                Groups.kill(proc.pid)
        proc.wait()
        Groups.done(proc.pid)
    return proc.returncode, series


def merge(target, log_path, into, sources):
    """-merge=1 with a control file: an interrupted merge resumes where it stopped."""
    cmd = [target.binary, "-merge=1", f"-merge_control_file={target.control}",
           f"-artifact_prefix={target.artifacts}/", *target.flags("max_len", "timeout", "rss_limit_mb"),
           into, *sources]
    with open(log_path, "a") as log:
        log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        log.flush()
        p = spawn(cmd, stdout=log, stderr=subprocess.STDOUT, env=target.env(), cwd=target.work)
        p.wait()
        Groups.done(p.pid)
    if p.returncode != 0:
        say(f"{target.name}: merge exited {p.returncode} (see {log_path}); the unmerged inputs are kept")
        return False
    if os.path.exists(target.control):
        os.remove(target.control)
    return True


def finish_merge(target, log_path):
    """Merges work/new into the working corpus, then empties work/new."""
    if not os.listdir(target.new) and not os.path.exists(target.control):
        return True
    if not merge(target, log_path, target.corpus, [target.new, *target.seed_dirs()]):
        return False
    for name in os.listdir(target.new):
        os.remove(os.path.join(target.new, name))
    return True


# ------------------------------------------------------------------------ report

def svg_plot(series, width=560, height=160):
    """Coverage over time as one inline SVG polyline (no scripts, no network)."""
    if len(series) < 1:
        return "<p>(no coverage samples)</p>"
    pad = 36
    tmax = max(1, max(s["t"] for s in series))
    cmin = min(s["cov"] for s in series)
    cmax = max(s["cov"] for s in series)
    span = max(1, cmax - cmin)
    points = []
    for s in series:
        x = pad + (width - 2 * pad) * s["t"] / tmax
        y = height - pad + (-(height - 2 * pad) * (s["cov"] - cmin) / span)
        points.append(f"{x:.1f},{y:.1f}")
    if len(points) == 1:
        points.append(points[0].replace(points[0].split(",")[0], f"{width - pad:.1f}", 1))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="coverage over time">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>'
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="{" ".join(points)}"/>'
        f'<text x="{pad}" y="{pad - 8}" font-size="11">cov {cmax}</text>'
        f'<text x="{pad}" y="{height - pad + 14}" font-size="11">0 s · cov {cmin}</text>'
        f'<text x="{width - pad}" y="{height - pad + 14}" font-size="11" text-anchor="end">{tmax} s</text>'
        f"</svg>")


def collect_findings(out):
    findings = []
    root = os.path.join(out, "crashes")
    for target in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        for sig in sorted(os.listdir(os.path.join(root, target))):
            info_path = os.path.join(root, target, sig, "info.json")
            if not sig.startswith(".") and os.path.exists(info_path):
                findings.append(read_json(info_path, {}))
    return findings


def write_reports(args, run_state):
    findings = collect_findings(args.out)
    escapes = collect_escapes(args.out)
    coverage = read_json(os.path.join(args.out, "coverage", "coverage.json"), None)
    summary = {
        "escapes": escapes,
        "run": run_state["id"], "preset": run_state["preset"], "minutes": run_state["minutes"],
        "canary": run_state.get("canary"), "complete": run_state.get("complete", False),
        "targets": run_state["targets"], "findings": findings,
        "new_findings": run_state.get("new_findings", []), "coverage": coverage,
    }
    write_json(os.path.join(args.out, "summary.json"), summary)

    e = html.escape
    rows, plots = [], []
    for name, t in run_state["targets"].items():
        last = t.get("series", [])[-1:] or [{}]
        rows.append(
            f"<tr><td>{e(name)}</td><td>{t.get('status', 'pending')}</td><td>{t.get('seconds', 0)}</td>"
            f"<td>{last[0].get('exec_s', '')}</td><td>{last[0].get('cov', '')}</td>"
            f"<td>{t.get('corpus_files', '')}</td><td>{t.get('unique_findings', 0)}</td></tr>")
        plots.append(f"<figure><figcaption>{e(name)}: edge coverage over time</figcaption>"
                     f"{svg_plot(t.get('series', []))}</figure>")
    frows = [
        f"<tr><td>{e(f['target'])}</td><td><code>{e(f['signature'])}</code></td>"
        f"<td><code>{e(f['first_line'])}</code></td><td>{f.get('count', 1)}</td>"
        f"<td>{'yes' if f.get('confirmed') else 'no'}</td><td>{f.get('input_bytes', '')}</td>"
        f"<td><code>{e(f['reproduce'])}</code><br><code>{e(f['explain'])}</code></td></tr>"
        for f in findings]
    cov_html = "<p>Coverage was not measured in this run.</p>"
    if coverage:
        cov_html = ("<table><tr><th>area</th><th>lines</th><th>covered</th></tr>" + "".join(
            f"<tr><td>{e(k)}</td><td>{v['lines']}</td><td>{v['percent']:.2f}%</td></tr>"
            for k, v in coverage.items()) + "</table><p><a href=\"coverage/html/index.html\">"
            "line-by-line coverage (llvm-cov)</a></p>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>luahammer nightly {e(run_state['id'])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }} figure {{ display: inline-block; margin: 0 1em 1em 0; }}
figcaption {{ font-size: 13px; }} .bad {{ color: #b00; }} .good {{ color: #070; }}
</style></head><body>
<h1>luahammer nightly</h1>
<p>Run {e(run_state['id'])}, preset <code>{e(run_state['preset'])}</code>{', canary <code>' + e(run_state['canary']) + '</code>' if run_state.get('canary') else ''},
budget {run_state['minutes']} min, {'complete' if run_state.get('complete') else 'incomplete'}.
<span class="{'bad' if findings else 'good'}">{len(findings)} unique finding(s), {len(run_state.get('new_findings', []))} new in this run.</span></p>
<h2>Targets</h2>
<table><tr><th>target</th><th>status</th><th>seconds</th><th>exec/s</th><th>cov</th><th>corpus files</th><th>unique findings</th></tr>
{''.join(rows)}</table>
{''.join(plots)}
<h2>Findings</h2>
{'<table><tr><th>target</th><th>signature</th><th>first line</th><th>seen</th><th>confirmed</th><th>bytes</th><th>reproduce</th></tr>' + ''.join(frows) + '</table>' if frows else '<p>None.</p>'}
<h2>Budget escapes (not findings)</h2>
<p>Inputs that ran past the per-input CPU guard: work no deterministic bound of the sandbox reaches yet.</p>
{'<table><tr><th>target</th><th>signature</th><th>seen</th><th>reproduce</th></tr>' + ''.join(
    f"<tr><td>{e(x['target'])}</td><td><code>{e(x['signature'])}</code></td><td>{x.get('count', 1)}</td>"
    f"<td><code>{e(x['reproduce'])}</code></td></tr>" for x in escapes) + '</table>' if escapes else '<p>None.</p>'}
<h2>Coverage</h2>
{cov_html}
</body></html>
"""
    write_atomic(os.path.join(args.out, "report.html"), page)


# -------------------------------------------------------------------------- main

class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Fatal(f"{message} (see --help)")


def bounded_int(low, high):
    def parse(text):
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got '{text}'")
        return int(text)
    return parse


def parse(argv):
    p = Parser(prog="ci/nightly.sh", description=(
        "The nightly fuzz campaign: every fuzz target in fork mode, unique minimized findings, "
        "a merged working corpus, summary.json, report.html and a coverage report. "
        "Exit status: 0 clean, 1 new unique findings, 2 setup or usage error."))
    p.add_argument("--minutes", type=bounded_int(1, 10080), default=3,
                   help="total fuzzing budget, 1 to 10080 (a week) (default 3)")
    p.add_argument("--jobs", type=bounded_int(1, 64), default=1,
                   help="libFuzzer -fork jobs per target, 1 to 64 (default 1)")
    p.add_argument("--targets", default="", help="comma-separated targets (default: all)")
    p.add_argument("--out", default=os.path.join(ROOT, "out", "nightly"), help="output folder (default out/nightly)")
    p.add_argument("--preset", default=None,
                   help="build preset (default fuzz; canary-fuzz when LUAHAMMER_CANARY is set)")
    p.add_argument("--update-corpus", action="store_true",
                   help="merge new coverage back into corpus/<target>/ for committing")
    p.add_argument("--modules", action="store_true", help="include the third-party module fuzzers")
    p.add_argument("--no-coverage", action="store_true", help="skip the llvm-cov report")
    p.add_argument("--no-build", action="store_true", help="use the binaries already built")
    p.add_argument("--fresh", action="store_true", help="start a new run even if the last one was interrupted")
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
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


def build(args):
    if args.no_build:
        return
    log = os.path.join(args.out, "build.log")
    with open(log, "w") as f:
        for cmd in (["bash", "ci/setup.sh"], ["cmake", "--preset", args.preset],
                    ["cmake", "--build", "--preset", args.preset]):
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


def main(argv):
    args = parse(argv)
    os.makedirs(args.out, exist_ok=True)
    lock = open(os.path.join(args.out, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise Fatal(f"another nightly is running on {args.out}")
    Groups.start(args.out)
    build(args)
    build_dir = os.path.join(ROOT, "build", args.preset)
    rows = discover(args, build_dir)
    names = list(rows)

    state_path = os.path.join(args.out, "run.json")
    run_state = read_json(state_path, None)
    key = {"preset": args.preset, "minutes": args.minutes, "names": names,
           "canary": os.environ.get("LUAHAMMER_CANARY")}
    if (run_state and not run_state.get("complete") and not args.fresh
            and all(run_state.get(k) == v for k, v in key.items())):
        done = [n for n, t in run_state["targets"].items() if t.get("status") == "done"]
        say(f"continuing the interrupted run {run_state['id']} (done: {', '.join(done) or 'none'})")
    else:
        run_state = {"id": time.strftime("%Y%m%d-%H%M%S"), **key, "complete": False, "new_findings": [],
                     "targets": {n: {"status": "pending"} for n in names}}
    write_json(state_path, run_state)

    share = max(10, args.minutes * 60 // len(names))
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
        say(f"{name}: fuzzing for {share} s (fork jobs {args.jobs}), corpus {count_files(target.corpus)} "
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
    if not args.no_coverage:
        cmd = ["bash", os.path.join(ROOT, "ci", "coverage.sh"), "--out", os.path.join(args.out, "coverage"),
               "--targets", ",".join(names),
               os.path.join(args.out, "corpus")]
        if args.no_build:
            cmd.insert(2, "--no-build")
        if subprocess.run(cmd, cwd=ROOT).returncode == 2:
            say("the coverage report failed (the campaign's results stand)")
    write_reports(args, run_state)

    findings = collect_findings(args.out)
    new = run_state["new_findings"]
    escapes = collect_escapes(args.out)
    failed = [n for n, t in run_state["targets"].items() if t.get("status") == "failed-to-start"]
    say(f"summary: {len(names)} target(s), {len(findings)} unique finding(s), {len(new)} new, "
        f"{len(escapes)} budget escape(s) (not findings); report {os.path.join(args.out, 'report.html')}")
    mark_reported(args.out)
    if failed:
        raise Fatal(f"target(s) that could not start fuzzing: {', '.join(failed)} (their logs are under "
                    f"{os.path.join(args.out, 'work')})")
    return 1 if new else 0


def last_lines(path, n=1):
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip() and not line.startswith("$ ")]
        return " / ".join(lines[-n:]) or "(no output)"
    except OSError:
        return "(no log)"


def unreported(out):
    """Findings no finished run has reported yet: new until then, even across a kill."""
    return [f["signature"] for f in collect_findings(out) if f.get("reported") is False]


def mark_reported(out):
    root = os.path.join(out, "crashes")
    for f in collect_findings(out):
        if f.get("reported") is False:
            f["reported"] = True
            write_json(os.path.join(root, f["target"], f["signature"], "info.json"), f)


def entry_point(argv):
    """Exit status 0 clean, 1 new findings, 2 a setup or usage error (one line), 130
    interrupted; the child process groups are killed on every path out."""
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return main(argv)
    except Fatal as error:
        print(f"nightly.sh: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        print(f"nightly.sh: {error.strerror or error}{where}; what was stored before stays", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nightly.sh: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130
    finally:
        try:
            Groups.kill_all()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(entry_point(sys.argv[1:]))
