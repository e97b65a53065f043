"""``python -m desktop.cli``: the ``branchsync`` console script, from a source tree."""

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
