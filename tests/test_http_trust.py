"""HTTP probes trust the system's CA store and `[endpoints] ca_bundle`, and honour HTTPS_PROXY /
NO_PROXY (issue 13, deliverable 8): a private CA made here, a real TLS server and a real
CONNECT proxy, all on 127.0.0.1. Loopback itself is never proxied, so the proxied store is
`pos.warungin.test`: a name the proxy, and the tests' own resolver, send to 127.0.0.1 (no DNS
query ever leaves the machine)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from warungin_tui.config import ConfigError, parse_config
from warungin_tui.steps.http import CaBundleError, HttpProber

PAGE = b"<html><title>Warungin POS</title></html>"
STORE = "pos.warungin.test"
"""The store's name: only ConnectProxy and the `store_resolves_here` stub know it."""
PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@dataclass
class PrivateCa:
    ca_pem: Path
    server: ssl.SSLContext


def make_private_ca(folder: Path) -> PrivateCa:
    """A CA nobody trusts yet, and a certificate it signed for 127.0.0.1 and STORE."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Warungin test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName(STORE)]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = folder / "company-ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain)
    return PrivateCa(ca_pem, server)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
            + f"Content-Length: {len(PAGE)}\r\n\r\n".encode()
            + PAGE
        )
        await writer.drain()
    writer.close()


@dataclass
class ConnectProxy:
    """A forward proxy that only tunnels (CONNECT), as a company's HTTPS proxy does."""

    port: int = 0
    seen: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line = head.split("\r\n", 1)[0]
        self.seen.append(request_line)
        method, authority, _ = request_line.split(" ", 2)
        host, port = authority.rsplit(":", 1)
        if method != "CONNECT" or host not in ("127.0.0.1", STORE):  # loopback only, never onwards
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def serving(handler: object, context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=context)  # type: ignore[arg-type]
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def private_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PrivateCa:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return make_private_ca(tmp_path)


async def fetch(prober: HttpProber, url: str) -> httpx.Response:
    try:
        answer = await prober.request("GET", url, via_ssh=False, json_body=None, timeout=10)
    finally:
        await prober.aclose()
    return answer.response


async def test_a_private_ca_is_refused_until_configured(private_ca: PrivateCa) -> None:
    async with serving(_answer, private_ca.server) as port:
        url = f"https://127.0.0.1:{port}/"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await fetch(HttpProber(None), url)
        response = await fetch(HttpProber(None, str(private_ca.ca_pem)), url)
        assert response.status_code == 200 and b"Warungin POS" in response.content


async def test_the_system_ca_store_is_trusted(
    private_ca: PrivateCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OS store, not a bundled list: OpenSSL's store is where SSL_CERT_FILE points."""
    monkeypatch.setenv("SSL_CERT_FILE", str(private_ca.ca_pem))
    async with serving(_answer, private_ca.server) as port:
        response = await fetch(HttpProber(None), f"https://127.0.0.1:{port}/")
        assert response.status_code == 200


@pytest.fixture
def store_resolves_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """STORE resolves to 127.0.0.1 and every other name fails, without asking DNS."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode("ascii") if isinstance(host, bytes) else host  # anyio passes idna
        if name == STORE:
            return real("127.0.0.1", *args, **kwargs)  # type: ignore[arg-type]
        if isinstance(name, str) and name != "localhost":
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, f"{name}: no DNS in tests") from None
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


async def test_https_proxy_is_honoured_and_no_proxy_bypasses_it(
    private_ca: PrivateCa, monkeypatch: pytest.MonkeyPatch, store_resolves_here: None
) -> None:
    proxy = ConnectProxy()
    async with (
        serving(_answer, private_ca.server) as port,
        serving(proxy.handle) as proxy_port,
    ):
        url = f"https://{STORE}:{port}/"
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
        response = await fetch(HttpProber(None, str(private_ca.ca_pem)), url)
        assert response.status_code == 200 and b"Warungin POS" in response.content
        assert proxy.seen == [f"CONNECT {STORE}:{port} HTTP/1.1"]

        monkeypatch.setenv("NO_PROXY", STORE)
        response = await fetch(HttpProber(None, str(private_ca.ca_pem)), url)
        assert response.status_code == 200
        assert len(proxy.seen) == 1  # straight to the server this time


async def test_a_loopback_address_is_never_sent_to_a_proxy(
    private_ca: PrivateCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy elsewhere would ask its own loopback; a rehearsal must not leave the machine."""
    proxy = ConnectProxy()
    async with (
        serving(_answer, private_ca.server) as port,
        serving(proxy.handle) as proxy_port,
    ):
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        for host in ("127.0.0.1", "localhost"):
            url = f"https://{host}:{port}/"
            if host == "localhost":  # the certificate names 127.0.0.1 and STORE only
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await fetch(HttpProber(None, str(private_ca.ca_pem)), url)
                continue
            response = await fetch(HttpProber(None, str(private_ca.ca_pem)), url)
            assert response.status_code == 200
        assert proxy.seen == []  # neither went through the proxy


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("pos.localhost", True),
        ("10.0.0.1", False),
        ("192.0.2.7", False),
        (STORE, False),
        ("localhost.example.com", False),
        (None, False),
    ],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    from warungin_tui.steps.http import is_loopback

    assert is_loopback(host) is loopback


async def test_an_unusable_ca_bundle_is_a_clear_failure(tmp_path: Path) -> None:
    with pytest.raises(CaBundleError, match=r"ca_bundle .*missing.pem: cannot be used"):
        HttpProber(None, str(tmp_path / "missing.pem")).tls_context()
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(CaBundleError, match="PEM file of CA certificates"):
        HttpProber(None, str(not_pem)).tls_context()


@pytest.mark.parametrize(
    ("value", "told"),
    [
        ("certs/ca.pem", "must be an absolute path"),
        ("/etc/ssl/", "must name a file"),
        ("/etc/ssl/ca.pem\n", "control characters"),
    ],
)
def test_ca_bundle_is_validated(value: str, told: str) -> None:
    data = {
        "target": {"host": "127.0.0.1", "user": "deploy", "project_dir": "/srv/warungin"},
        "release": {"version": "1.1.0"},
        "endpoints": {"frontend": "https://127.0.0.1", "ca_bundle": value},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert info.value.lines[0].startswith("[endpoints] ca_bundle: "), info.value.lines
    assert told in info.value.lines[0]
    data["endpoints"]["ca_bundle"] = "~/company-ca.pem"
    assert parse_config(data).endpoints.ca_bundle == "~/company-ca.pem"
