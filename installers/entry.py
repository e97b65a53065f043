"""The frozen app's entry point: the ``branchsync`` console script, as PyInstaller runs it."""

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
