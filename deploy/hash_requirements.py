"""Add `--hash` lines to requirements.lock for every wheel a deployment can install (`make lock`).

`pip install --require-hashes` (the Dockerfile, deploy/Makefile) refuses any file whose sha256 the
lock does not list, so the lock lists the wheels each target picks: Lambda (Python 3.12, arm64, the
platforms deploy/Makefile passes) and the container image (python:3.12-slim: Debian, glibc 2.36, on
amd64 and arm64). The wheels are fetched with `pip download` and hashed here.

    python deploy/hash_requirements.py requirements.lock
    python deploy/hash_requirements.py graphiql/requirements-node.lock image   # the image's targets only
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PYTHON_VERSION = "3.12"
_DEBIAN_GLIBC_MINOR = 36  # python:3.12-slim is Debian bookworm
TARGETS: dict[str, list[str]] = {
    # deploy/Makefile LAMBDA_WHEELS
    "lambda-arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"],
    # Every glibc pip accepts in the image (pip does not widen manylinux_2_x platforms itself).
    **{
        f"image-{machine}": ["manylinux2014_" + machine]
        + [f"manylinux_2_{minor}_{machine}" for minor in range(17, _DEBIAN_GLIBC_MINOR + 1)]
        for machine in ("x86_64", "aarch64")
    },
}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> list[tuple[str, str]]:
    """(package, version) of each pin, whether or not the lock has hashes yet."""
    found = []
    for line in lock.splitlines():
        if line and not line.startswith(("#", " ")):
            package, version = line.rstrip(" \\").split("==")
            found.append((package, version))
    return found


def download(requirements: Path, platforms: list[str], into: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--implementation", "cp", "--python-version", PYTHON_VERSION, "--dest", str(into),
               "-r", str(requirements)]
    for platform in platforms:
        command += ["--platform", platform]
    subprocess.run(command, check=True)


def hashes(directory: Path) -> dict[str, set[str]]:
    """Normalised package name -> sha256 of each wheel downloaded for it."""
    found: dict[str, set[str]] = defaultdict(set)
    for wheel in directory.glob("*.whl"):
        found[normal(wheel.name.split("-")[0])].add(hashlib.sha256(wheel.read_bytes()).hexdigest())
    return found


def hashed_lock(lock: str, digests: dict[str, set[str]], installed_by: str = "Lambda and the image") -> str:
    header = [line for line in lock.splitlines() if line.startswith("#")]
    lines = header[:1] + [f"# With the sha256 of each wheel {installed_by} install (deploy/hash_requirements.py)."]
    for package, version in pins(lock):
        found = sorted(digests.get(normal(package), ()))
        if not found:
            raise SystemExit(f"no wheel of {package}=={version} was downloaded: nothing to hash")
        lines.append(f"{package}=={version} \\")
        lines += [f"    --hash=sha256:{digest}" + (" \\" if i < len(found) - 1 else "") for i, digest in enumerate(found)]
    return "\n".join(lines) + "\n"


def main(path: str, target_prefix: str = "") -> None:
    """Hash the wheels of every target (or only those whose name starts with `target_prefix`)."""
    lock_file = Path(path)
    lock = lock_file.read_text()
    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / "requirements.txt"
        plain.write_text("".join(f"{package}=={version}\n" for package, version in pins(lock)))
        wheels = Path(scratch) / "wheels"
        for target, platforms in TARGETS.items():
            if target.startswith(target_prefix):
                download(plain, platforms, wheels)
        installed_by = "the image's stages" if target_prefix == "image" else "Lambda and the image"
        lock_file.write_text(hashed_lock(lock, hashes(wheels), installed_by))


if __name__ == "__main__":
    main(*sys.argv[1:3])
