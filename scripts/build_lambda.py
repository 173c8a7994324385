"""Build the Lambda deployment package: dist/ses-guard-lambda.zip.

The package holds lambda_src/ses_guard and the pinned runtime dependencies of
requirements-lambda.txt (SQLAlchemy, PyMySQL, Powertools; boto3 comes with the
runtime), installed as wheels for Lambda's Linux and Python, whatever this
machine runs:

    LAMBDA_ARCH=x86_64|arm64   (default x86_64)
    LAMBDA_PYTHON=3.12         (default; match the module's lambda_runtime)

The zip is reproducible: entries sorted, timestamps and permissions fixed, and
files that record where or when they were installed (pip's RECORD, INSTALLER,
direct_url.json, console scripts with this machine's interpreter path, bytecode)
left out. Two builds of the same sources are byte-identical, so Terraform's
source_code_hash only changes when the code or the pins do.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator, Tuple

REPO = Path(__file__).resolve().parent.parent
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
# The earliest date a zip entry can carry.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
# Installer bookkeeping that differs between installs of the same wheel.
UNSTABLE_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# Never imported by the functions, and worth a fifth of the zip: test suites, C sources and
# headers of compiled extensions, type stubs, SQLAlchemy's test harness, and Powertools'
# HTTP event handler (the functions use its logger and metrics only).
UNUSED_DIRECTORIES = {"tests", "sqlalchemy/testing", "aws_lambda_powertools/event_handler"}
UNUSED_SUFFIXES = {".pyc", ".pyo", ".pyi", ".c", ".cpp", ".h", ".hpp", ".pyx", ".pxd"}
MAX_BYTES = 5_000_000  # the package budget of issue 3: 5 MB


def wheel_platforms(arch: str, python_version: str) -> list:
    """Wheel tags Lambda's OS can load: Python 3.12+ runs on Amazon Linux 2023 (glibc 2.34),
    older runtimes on Amazon Linux 2 (glibc 2.26, so manylinux2014 at most)."""
    machine = MACHINES[arch]
    platforms = [f"manylinux2014_{machine}"]
    if tuple(int(part) for part in python_version.split(".")[:2]) >= (3, 12):
        platforms.append(f"manylinux_2_28_{machine}")
    return platforms


def install_dependencies(requirements: Path, target: Path, arch: str, python_version: str) -> None:
    platform_options = [
        option for platform in wheel_platforms(arch, python_version) for option in ("--platform", platform)
    ]
    subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--requirement",
            str(requirements),
            "--target",
            str(target),
            *platform_options,
            "--python-version",
            python_version,
            "--implementation",
            "cp",
            "--only-binary=:all:",
        ],
        check=True,
    )


def keep(relative: Path) -> bool:
    parts = relative.parts
    if "__pycache__" in parts or relative.suffix in UNUSED_SUFFIXES:
        return False
    if "tests" in parts or any(relative.as_posix().startswith(f"{directory}/") for directory in UNUSED_DIRECTORIES):
        return False
    if parts[0] == "bin":  # console scripts: their shebang names this machine's interpreter
        return False
    return not (parts[0].endswith(".dist-info") and relative.name in UNSTABLE_METADATA)


def package_files(dependencies: Path, source: Path) -> Iterator[Tuple[str, Path]]:
    for path in dependencies.rglob("*"):
        relative = path.relative_to(dependencies)
        if path.is_file() and keep(relative):
            yield relative.as_posix(), path
    for path in source.rglob("*"):
        relative = path.relative_to(source.parent)
        if path.is_file() and keep(relative):
            yield relative.as_posix(), path


def write_zip(entries: dict, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.create_system = 3  # unix, so that external_attr holds the mode
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)
    partial.replace(output)


def build(output: Path, arch: str, python_version: str, requirements: Path, source: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="ses-guard-build-") as scratch:
        dependencies = Path(scratch) / "dependencies"
        install_dependencies(requirements, dependencies, arch, python_version)
        entries = dict(package_files(dependencies, source))
        write_zip(entries, output)
    return output.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the reproducible Lambda zip.")
    parser.add_argument("--output", type=Path, default=REPO / "dist" / "ses-guard-lambda.zip")
    parser.add_argument("--arch", choices=sorted(MACHINES), default=os.environ.get("LAMBDA_ARCH", "x86_64"))
    parser.add_argument("--python-version", default=os.environ.get("LAMBDA_PYTHON", "3.12"))
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements-lambda.txt")
    parser.add_argument("--source", type=Path, default=REPO / "lambda_src" / "ses_guard")
    args = parser.parse_args()

    size = build(args.output, args.arch, args.python_version, args.requirements, args.source)
    print(f"{args.output} {size / 1024 / 1024:.2f} MiB ({args.arch}, Python {args.python_version})")
    if size > MAX_BYTES:
        sys.exit(f"{args.output} is {size} bytes, over the {MAX_BYTES}-byte budget")


if __name__ == "__main__":
    main()
