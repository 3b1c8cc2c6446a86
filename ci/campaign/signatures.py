"""A finding's signature: its kind and first report line, and the first frames in our code."""

import hashlib
import os
import re

from .common import ROOT

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
    # A number in a report is the input's (1e+308 or 2.5 outside a type's range): N too.
    line = re.sub(r"[-+]?\b\d+(\.\d+)?[eE][-+]?\d+\b|[-+]?\b\d+\.\d+\b", "N", line)
    line = re.sub(r"\b\d+\b", "N", line)
    line = re.sub(r"\s+(on address|at pc|bp|sp) 0x.*", "", line)
    return line[:160]


# Bindings' own code that lives in this checkout only as an example of a user's project.
# A third-party module fetched under third_party/modules/ is code under test as a user's
# module is: its frames, not the harness step that called it, say where the bug is.
THEIR_DIRS = ("examples/", "third_party/modules/")
# Outside luahammer's checkout: system libraries and runtimes, not code under test.
SYSTEM_PATH = re.compile(r"^/(usr|lib|lib32|lib64|build|rustc)/")


def checkout_relative(path):
    """A frame's path relative to this checkout, or None. Also for a file of this checkout
    compiled in another copy of it: ccache hands back objects built in another clone, whose
    debug information names that clone's paths (/tmp/clone-1/build/x/../../../harness/…);
    read as a user's code, such a harness frame would split one bug into a signature per
    harness step that called it."""
    norm = os.path.normpath(path)
    if norm.startswith(ROOT + "/"):
        return os.path.relpath(norm, ROOT)
    parts = norm.split("/")
    for i in range(1, len(parts)):
        tail = "/".join(parts[i:])
        if tail.startswith(OUR_DIRS) and os.path.isfile(os.path.join(ROOT, tail)):
            return tail
    return None


def our_frames(output, limit=2):
    """Function names of the top two frames in code under test: luahammer's own (the
    binding core, the harness, modules fetched under it) or a binding's own sources outside
    this checkout (a user's module fuzzed from its own repository: its frames, not the
    harness step that happened to call it, say where the bug is: when there are such
    frames, only they count); else of any code.
    Two, not three: the third is usually a caller (set-up or lazy registration) and
    would split one bug into several signatures."""
    theirs, ours, anyf = [], [], []
    for raw in output.splitlines():
        m = FRAME.match(raw)
        if not m:
            continue
        func, path = m.group(2), m.group(3)
        rel = checkout_relative(path)
        inside = rel is not None
        if "compiler-rt" in path or "libFuzzer" in path or "/sanitizer_common/" in path:
            continue
        func = function_name(func)
        anyf.append(func)
        if (rel and rel.startswith(THEIR_DIRS)) or (not inside and not SYSTEM_PATH.match(path)):
            theirs.append(func)
        elif rel and rel.startswith(OUR_DIRS) and not rel.startswith(REPORTING_FILES):
            ours.append(func)
    chosen = theirs or ours or anyf
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
