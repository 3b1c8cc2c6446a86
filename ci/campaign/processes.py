"""Children in process groups of their own, killed on every exit path; sanitizer options."""

import ctypes
import os
import signal
import subprocess

from .common import ROOT, read_json, write_json


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
# depot took a quarter of the op targets' time; detection does not depend on them) and a
# 64 MB quarantine instead of 256 MB (freed memory comes back sooner, still warm: 6-14%
# less CPU on a fixed replay, docs/performance.md; an input frees about 120 KB, so a
# use after free inside one input, or the next few hundred, still lands in quarantine),
# and every crash file is replayed with full stacks for its report and signature.
FUZZ_ASAN_OPTIONS = "symbolize=1:detect_leaks=1:handle_abort=1:malloc_context_size=0:quarantine_size_mb=64"
REPORT_ASAN_OPTIONS = "symbolize=1:detect_leaks=1:handle_abort=1"


def sanitizer_env(light=False):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", FUZZ_ASAN_OPTIONS if light else REPORT_ASAN_OPTIONS)
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env
