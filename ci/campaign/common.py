"""What every part of the campaign shares: the checkout root, progress lines, the
setup-error exception, and files written so that a kill loses nothing already stored."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
