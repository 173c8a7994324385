"""How long `ses-guard suppression diff` takes to read a large SES suppression list, page by page, against the
in-process emulator (moto with tests/support/moto_sesv2.py): the client's share of the time is real (botocore
parsing 1,000 summaries a page), the network's is not.

    .venv/bin/python -m bench.suppression_paging --entries 300000

Not part of `make bench` yet (it adds about a minute).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import datetime, timezone

import boto3
from moto import mock_aws

from ses_guard import suppression
from tests.support import moto_sesv2


def measure(entries: int) -> str:
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
    }.items():
        os.environ.setdefault(key, value)
    moto_sesv2.apply()
    with mock_aws():
        listed_at = datetime(2026, 11, 1, tzinfo=timezone.utc)
        moto_sesv2.add_suppressed_destinations(
            (f"gone{number:07d}@example.com", "BOUNCE", listed_at) for number in range(entries)
        )
        sesv2 = boto3.client("sesv2")
        began = time.perf_counter()
        found, pages = suppression.list_suppressed(sesv2)
        seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"{len(found):,} suppressed addresses: {pages} pages in {seconds:.1f} s "
        f"({1000 * seconds / pages:.0f} ms a page), peak RSS {peak_mb:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300_000, help="suppressed addresses (default 300,000)")
    print(measure(parser.parse_args().entries))


if __name__ == "__main__":
    main()
