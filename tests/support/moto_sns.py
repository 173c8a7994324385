"""SNS cost moto 5.2.5 adds that no test needs, patched out.

moto signs each message it delivers to a subscription with a 2048-bit RSA key it generates for that subscription,
so every test that publishes to a subscribed topic waited for a new key (a tenth of the disable-sending tests'
time). One key per process signs them all: nothing here checks SNS signatures, and they stay valid signatures.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric import rsa
from moto.sns.models import Subscription


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def apply() -> None:
    """Patch moto's SNS subscriptions to share one signing key; calling it again changes nothing."""
    Subscription.private_key = lambda self: _signing_key()
