"""The Debian packages a test needs: skipped, saying how to install it, where it is missing; under
CI (environment variable CI set), which installs them (scripts/system-deps.sh), failed instead."""

import os

import pytest


def need(present: bool, package: str, what: str) -> None:
    """Skip (fail under CI) unless `present`; `what` names the missing program."""
    if present:
        return
    message = f"{what} is missing: install it with `sudo apt-get install {package}`"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI installs it: scripts/system-deps.sh)")
    pytest.skip(message)
