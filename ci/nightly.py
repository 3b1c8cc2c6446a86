#!/usr/bin/env python3
"""luahammer's nightly campaign: the command line of the campaign package (ci/campaign/).
Run it through ci/nightly.sh, or directly; --help lists the options."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from campaign import entry_point  # noqa: E402

if __name__ == "__main__":
    sys.exit(entry_point(sys.argv[1:]))
