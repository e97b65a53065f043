"""Why a build stopped.

Exception tree::

    BuildError             root: the build cannot go on; the message says what to do
     ├── ToolMissing       a program the step needs is not installed (names the package)
     ├── StepFailed        a program exited non-zero (its command line and output tail)
     ├── SmokeTestFailed   the frozen app did not behave (what was expected, what came out)
     ├── SigningKeyMissing no signing key configured (names the variables to set)
     └── VerificationFailed a signature or checksum did not verify: nothing is published

Anything else is a bug in the build scripts.
"""

from __future__ import annotations

__all__ = [
    "BuildError",
    "SigningKeyMissing",
    "SmokeTestFailed",
    "StepFailed",
    "ToolMissing",
    "VerificationFailed",
]


class BuildError(Exception):
    """Root of the build's own errors."""


class ToolMissing(BuildError):
    """A program a step runs is not on PATH."""


class StepFailed(BuildError):
    """A program exited with a non-zero status.

    Attributes:
        argv: the command line.
        returncode: its exit status.
        output: the tail of what it printed (stdout and stderr).
    """

    def __init__(self, argv: list[str], returncode: int, output: str) -> None:
        super().__init__(f"{argv[0]} exited with {returncode}: {' '.join(argv)}\n{output}")
        self.argv = argv
        self.returncode = returncode
        self.output = output


class SmokeTestFailed(BuildError):
    """The frozen app ran but did not do what it should."""


class SigningKeyMissing(BuildError):
    """No signing key was given; the message names the variables that give one."""


class VerificationFailed(BuildError):
    """A signature or a checksum did not verify."""
