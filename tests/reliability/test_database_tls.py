"""A connection built from the RDS secret goes over TLS, verified against the RDS CAs and the host name (issue 12).

The servers here are a stand-in that speaks MySQL's greeting and then TLS with a certificate the test makes,
and the suite's MariaDB, which offers no TLS at all.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import struct
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pymysql.constants import CLIENT
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ses_guard import database
from ses_guard.aws import Clients
from ses_guard.settings import database_settings
from tests.conftest import MYSQL_URL

PASSWORD = "Tls-Pr0be-Secret!"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory):
    """A CA of the test's own, and server certificates it signs: for 127.0.0.1, and for another host."""
    directory = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_certificate = _certificate(
        _name("ses-guard test CA"), _name("ses-guard test CA"), ca_key.public_key(), ca_key, ca=True
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca_certificate.public_bytes(pem))
    servers = {}
    for label, names in (
        ("loopback", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        ("elsewhere", [x509.DNSName("db.elsewhere.test")]),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _certificate(
            _name(label), ca_certificate.subject, key.public_key(), ca_key, ca=False, names=names
        )
        (directory / f"{label}.pem").write_bytes(
            certificate.public_bytes(pem)
            + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        servers[label] = str(directory / f"{label}.pem")
    return {"ca": str(directory / "ca.pem"), **servers}


def _greeting() -> bytes:
    """A MySQL protocol 10 greeting that offers TLS."""
    capabilities = (
        CLIENT.LONG_PASSWORD
        | CLIENT.CONNECT_WITH_DB
        | CLIENT.PROTOCOL_41
        | CLIENT.SSL
        | CLIENT.SECURE_CONNECTION
        | CLIENT.PLUGIN_AUTH
    )
    salt = b"0123456789abcdefghij"
    payload = (
        b"\x0a8.0.99-tls-stand-in\x00"
        + struct.pack("<I", 1)
        + salt[:8]
        + b"\x00"
        + struct.pack("<HBHH", capabilities & 0xFFFF, 45, 2, capabilities >> 16)
        + bytes([len(salt) + 1])
        + b"\x00" * 10
        + salt[8:]
        + b"\x00mysql_native_password\x00"
    )
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


class TLSStandIn:
    """Accepts one client, greets it, and answers its TLS request with `certificate`."""

    def __init__(self, certificate: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.encrypted_login = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.sendall(_greeting())
            connection.recv(36)  # the client's TLS request: header and 32 bytes
            try:
                with self.context.wrap_socket(connection, server_side=True) as tls:
                    if tls.recv(4096):
                        self.encrypted_login.set()
            except (ssl.SSLError, OSError):
                pass  # the client refused the certificate

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def stand_in(request, test_ca):
    server = TLSStandIn(test_ca[request.param])
    yield server
    server.close()


def secret(host="127.0.0.1", port=3306, username="guard", database_name="app"):
    return {
        "engine": "mysql",
        "host": host,
        "port": port,
        "username": username,
        "password": PASSWORD,
        "dbname": database_name,
    }


def connect(url) -> None:
    engine = database.build_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def test_the_url_from_the_secret_verifies_the_server_against_the_shipped_rds_cas():
    url = database.url_from_secret(secret(host="app.cluster-abc.us-east-1.rds.amazonaws.com"))

    assert url.query["ssl_ca"] == str(database.RDS_CA_BUNDLE)
    assert url.query["ssl_check_hostname"] == "true"
    shipped = ssl.create_default_context(cafile=url.query["ssl_ca"]).get_ca_certs()
    names = {dict(part[0] for part in certificate["subject"])["commonName"] for certificate in shipped}
    # The current RDS CAs (rds-ca-rsa2048-g1 is the default since 2024) and RDS Proxy's Amazon roots.
    assert {"Amazon RDS us-east-1 Root CA RSA2048 G1", "Amazon RDS eu-west-1 Root CA ECC384 G1"} <= names
    assert "Amazon Root CA 1" in names


@pytest.mark.parametrize("stand_in", ["loopback"], indirect=True)
def test_a_server_whose_certificate_no_rds_ca_signed_is_refused(test_ca, stand_in):
    with pytest.raises(OperationalError, match="CERTIFICATE_VERIFY_FAILED") as refused:
        connect(database.url_from_secret(secret(port=stand_in.port)))

    assert not stand_in.encrypted_login.is_set()
    assert PASSWORD not in str(refused.value)


@pytest.mark.parametrize("stand_in", ["elsewhere"], indirect=True)
def test_a_certificate_for_another_host_is_refused(test_ca, stand_in):
    with pytest.raises(OperationalError, match=r"CERTIFICATE_VERIFY_FAILED.*mismatch"):
        connect(database.url_from_secret(secret(port=stand_in.port), test_ca["ca"]))

    assert not stand_in.encrypted_login.is_set()


@pytest.mark.parametrize("stand_in", ["loopback"], indirect=True)
def test_a_verified_server_gets_the_login_encrypted(test_ca, stand_in, moto_clients):
    """The control: with DB_CA_BUNDLE naming the CA that signed it, the same stand-in is trusted."""
    arn = moto_clients["secretsmanager"].create_secret(
        Name="ses-guard/db", SecretString=json.dumps(secret(port=stand_in.port))
    )["ARN"]
    url = database.resolve_url(database_settings({"DB_SECRET_ARN": arn, "DB_CA_BUNDLE": test_ca["ca"]}), Clients())

    with pytest.raises(OperationalError):  # the stand-in hangs up after the login: it is no database
        connect(url)

    assert stand_in.encrypted_login.wait(5)


@pytest.mark.mysql
def test_a_server_without_tls_is_refused_before_the_login(mysql_server):
    """The suite's MariaDB offers no TLS. PyMySQL would go on in plain text, and log in (here: 'Access denied'
    for a user that does not exist); the guard refuses before sending any credentials."""
    server = make_url(MYSQL_URL)
    url = database.url_from_secret(secret(host=server.host, port=server.port or 3306, username="nobody_here"))

    with pytest.raises(OperationalError) as refused:
        connect(url)

    assert database.TLS_REQUIRED in str(refused.value)
    assert "Access denied" not in str(refused.value)
    assert PASSWORD not in str(refused.value)
