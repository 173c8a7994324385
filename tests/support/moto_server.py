"""A moto server with the project's extensions (tests.support.moto_ses, moto_sesv2, moto_sqs,
moto_policies), on loopback.

In a test: ``with EmulatorServer() as server: boto3.client("ses", endpoint_url=server.endpoint_url)``
(or the ``moto_endpoint`` fixture in tests.support.fixtures).

From a shell (``make demo``)::

    python -m tests.support.moto_server --port 0

prints ``moto server with SES extensions on http://127.0.0.1:PORT`` once it listens, and serves
until SIGINT or SIGTERM. Port 0 picks a free port.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import TracebackType
from typing import Optional, Type

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from tests.support import moto_policies, moto_ses, moto_sesv2, moto_sns, moto_sqs


class EmulatorServer:
    """ThreadedMotoServer on 127.0.0.1 with the SES, SESv2, SNS, SQS and resource-policy extensions applied."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        moto_ses.apply()
        moto_sesv2.apply()
        moto_sqs.apply()
        moto_sns.apply()
        moto_policies.apply()
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint_url = ""

    def start(self) -> EmulatorServer:
        # werkzeug logs every request at INFO; tests and the demo want only problems.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Run a moto server with the ses-reputation-guard SES extensions.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    args = parser.parse_args(argv)

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with EmulatorServer(args.port, args.host) as server:
        print(f"moto server with SES extensions on {server.endpoint_url}", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
