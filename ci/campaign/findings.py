"""Crash files into unique, minimized, confirmed findings; budget escapes kept apart."""

import os
import shlex
import shutil
import time

from .common import ROOT, FINDING_PREFIXES, Fatal, MINIMIZE_SECONDS, read_json, say, write_atomic, write_json
from .processes import run, sanitizer_env
from .signatures import ESCAPE, signature
from .state import RunState

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


def process_artifacts(target, args, run_state: RunState):
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
        if sig in getattr(args, "known", {}):
            store_set_aside(target, args, "suppressed", name, path, sig, line, report, reason=args.known[sig])
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
    store_set_aside(target, args, "escapes", name, path, sig, line, report)


def store_set_aside(target, args, kind, name, path, sig, line, report, reason=None):
    """What is not a finding, kept under OUT/<kind>/<target>/<signature>/ (the first input,
    its report and a count): budget escapes, and known findings the user suppressed."""
    folder = os.path.join(args.out, kind, target.name, sig)
    os.makedirs(folder, exist_ok=True)
    info = read_json(os.path.join(folder, "info.json"), None)
    if info is None:
        shutil.copyfile(path, os.path.join(folder, "input"))
        write_atomic(os.path.join(folder, "report.txt"), report)
        info = {"target": target.name, "signature": sig, "first_line": line, "count": 0,
                "reproduce": f"{os.path.relpath(target.binary, ROOT)} {os.path.join(folder, 'input')}"}
        what = "budget escape (not a finding)" if kind == "escapes" else f"known finding ({reason})"
        say(f"{target.name}: {what} {sig}; kept in {os.path.relpath(folder, args.out)}")
    if reason is not None:
        info["reason"] = reason
    info["count"] += 1
    info["last_seen"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(os.path.join(folder, "info.json"), info)
    os.remove(path)


def read_known(path):
    """The known-findings file: one `<signature> <reason>` a line, # comments. A finding with
    one of these signatures is suppressed: kept and counted apart, the campaign goes on."""
    known = {}
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = "" if raw.lstrip().startswith("#") else raw.strip()
            if not line:
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                raise Fatal(f"{path}:{number}: a known finding needs a reason: '<signature> <why it is known>'")
            known[parts[0]] = parts[1]
    return known


def collect_suppressed(out):
    return collect_set_aside(out, "suppressed")


def collect_escapes(out):
    return collect_set_aside(out, "escapes")


def collect_set_aside(out, kind):
    root = os.path.join(out, kind)
    found = []
    for target in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        for sig in sorted(os.listdir(os.path.join(root, target))):
            info = read_json(os.path.join(root, target, sig, "info.json"), None)
            if info:
                found.append(info)
    return found


def unreported(out):
    """Findings no finished run has reported yet: new until then, even across a kill."""
    return [f["signature"] for f in collect_findings(out) if f.get("reported") is False]


def mark_reported(out):
    root = os.path.join(out, "crashes")
    for f in collect_findings(out):
        if f.get("reported") is False:
            f["reported"] = True
            write_json(os.path.join(root, f["target"], f["signature"], "info.json"), f)


def collect_findings(out):
    findings = []
    root = os.path.join(out, "crashes")
    for target in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        for sig in sorted(os.listdir(os.path.join(root, target))):
            info_path = os.path.join(root, target, sig, "info.json")
            if not sig.startswith(".") and os.path.exists(info_path):
                findings.append(read_json(info_path, {}))
    return findings
