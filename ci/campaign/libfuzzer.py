"""libFuzzer's fork mode with progress lines, and its resumable corpus merge."""

import os
import re
import shlex
import subprocess
import threading
import time

from .common import PROGRESS_EVERY, say
from .processes import Groups, spawn

# ----------------------------------------------------------------- fuzz and merge

STATUS = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+) "
                    r"oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s")


def fuzz(target, args, seconds, log_path):
    cmd = [target.binary, f"-fork={args.jobs}", "-ignore_crashes=1", "-ignore_timeouts=1",
           "-ignore_ooms=1", f"-max_total_time={seconds}", f"-artifact_prefix={target.artifacts}/",
           "-print_funcs=0", *([f"-runs={args.executions}"] if args.executions else []),
           *target.flags(), target.new, target.corpus, *target.seed_dirs()]
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
           f"-artifact_prefix={target.artifacts}/", *target.flags("max_len", "len_control", "timeout", "rss_limit_mb"),
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
