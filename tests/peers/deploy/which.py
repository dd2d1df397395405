"""Prints the path of a program that pip installed for this python3 (tests/peers/deploy-requirements.txt
puts hadolint, docker-compose and kubernetes-validate there), else of the one on PATH; exits 1
naming scripts/setup --peers when there is none.

    python3 tests/peers/deploy/which.py hadolint
"""

import os
import shutil
import sys
import sysconfig


def which(name: str) -> str | None:
    scripts = sysconfig.get_path("scripts")
    candidate = os.path.join(scripts, name) if scripts else None
    if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which(name)


if __name__ == "__main__":
    path = which(sys.argv[1])
    if path is None:
        sys.exit(f"{sys.argv[1]} is not installed: run scripts/setup --peers (tests/peers/deploy-requirements.txt)")
    print(path)
