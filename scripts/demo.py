"""`make demo`: placeholder until the end-to-end demo is written (a later issue)."""

import sys

if __name__ == "__main__":
    print("make demo: not yet (scripts/demo.py is a placeholder; run `make test` meanwhile)", file=sys.stderr)
    sys.exit(1)
