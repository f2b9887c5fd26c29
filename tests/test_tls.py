"""TLS failures (checklist F3) against a real TLS endpoint with throw-away trustme certificates.

Decision (checklist section 6, "whether a certificate-verification failure uses all 4
attempts"): a certificate that cannot be verified (unknown CA, expired, wrong host name) does not
heal in seconds, so it ends the lookup after ONE attempt: exit 69 with a hint naming the system
clock, a corporate proxy and REQUESTS_CA_BUNDLE. Other TLS failures (an EOF or reset during the
handshake, a server that does not speak TLS) are transport failures like any other and are
retried, as the contract's retry rule ("transport failures (... TLS ...)") says. Certificate
checks are never turned off, and trusting a private CA is what REQUESTS_CA_BUNDLE is for.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from conftest import CANARY, Run
from socket_faults import FaultServer, header_drip, never_answer, respond

from browseract_cli.api import ApiClient, Timeouts
from browseract_cli.endpoints import get_task_status
from browseract_cli.errors import ApiError
from browseract_cli.retry import RetryPolicy

TLS_HINT = "REQUESTS_CA_BUNDLE"
CA_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def no_ambient_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_ENV:
        monkeypatch.delenv(name, raising=False)


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[Callable[..., FaultServer]]:
    servers: list[FaultServer] = []

    def make(*faults, cert: trustme.LeafCert | None = None, **kw) -> FaultServer:  # type: ignore[no-untyped-def]
        leaf = cert or ca.issue_cert("127.0.0.1")
        server = FaultServer(*faults, ssl_context=server_context(leaf), **kw).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def check_tls_failure(run: Run, json_mode: bool) -> None:
    assert "Traceback" not in run.stderr
    assert TLS_HINT in run.stderr and "never turned off" in run.stderr
    if json_mode:
        doc = json.loads(run.stdout)
        assert doc["exit_code"] == 69
        assert doc["error"]["kind"] == "network"
        assert doc["status"] is None
    else:
        assert run.stdout == ""


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
@pytest.mark.parametrize("json_mode", [False, True], ids=["human", "json"])
def test_untrusted_certificate_is_69_with_hint_and_not_retried(
        cli: Callable[..., Run], tls_server: Callable[..., FaultServer], verbose: bool,
        json_mode: bool) -> None:
    server = tls_server(respond())
    argv = (["-v"] if verbose else []) + ["status"] + (["--json"] if json_mode else []) + ["t"]
    started = time.monotonic()
    run = cli(*argv, expect=69, base_url=server.url)
    assert time.monotonic() - started < 5
    check_tls_failure(run, json_mode)
    assert "certificate could not be verified" in run.stderr
    assert server.connections == 1  # one attempt: a bad certificate does not heal
    assert server.request_count == 0  # the request (and its key) never left
    if verbose:
        assert "Bearer ****" in run.stderr and CANARY not in run.stderr


@pytest.mark.parametrize("json_mode", [False, True], ids=["human", "json"])
def test_requests_ca_bundle_makes_the_private_ca_trusted(
        cli: Callable[..., Run], tls_server: Callable[..., FaultServer], ca_bundle: str,
        json_mode: bool) -> None:
    server = tls_server(respond(200, b'{"status":"finished"}'))
    run = cli("status", *(["--json"] if json_mode else []), "t", expect=0, base_url=server.url,
              env={"REQUESTS_CA_BUNDLE": ca_bundle})
    assert server.request_count == 1
    assert server.requests[0].authorization == f"Bearer {CANARY}"
    if json_mode:
        assert json.loads(run.stdout)["status"] == "finished"


def test_keep_alive_over_tls_for_several_tasks(cli: Callable[..., Run],
                                               tls_server: Callable[..., FaultServer],
                                               ca_bundle: str) -> None:
    server = tls_server(respond(200, b'{"status":"running"}'))
    cli("status", "--json", "a", "b", "c", expect=14, base_url=server.url,  # one at a time: reuse
        env={"REQUESTS_CA_BUNDLE": ca_bundle, "BROWSERACT_CONCURRENCY": "1"})
    assert server.request_count == 3
    assert server.connections == 1


@pytest.mark.parametrize("case", ["expired", "not-yet-valid", "wrong-host-name"])
def test_bad_certificate_from_a_trusted_ca_is_not_retried(
        cli: Callable[..., Run], tls_server: Callable[..., FaultServer], ca: trustme.CA,
        ca_bundle: str, case: str) -> None:
    now = datetime.now(UTC)
    cert = {
        "expired": lambda: ca.issue_cert("127.0.0.1", not_before=now - timedelta(days=30),
                                         not_after=now - timedelta(days=1)),
        "not-yet-valid": lambda: ca.issue_cert("127.0.0.1", not_before=now + timedelta(days=1),
                                               not_after=now + timedelta(days=30)),
        "wrong-host-name": lambda: ca.issue_cert("api.browseract.com"),
    }[case]()
    server = tls_server(respond(), cert=cert)
    run = cli("status", "--json", "t", expect=69, base_url=server.url,
              env={"REQUESTS_CA_BUNDLE": ca_bundle})
    check_tls_failure(run, json_mode=True)
    assert server.connections == 1
    assert server.request_count == 0


def test_handshake_eof_is_retried_then_69_with_the_tls_hint(
        cli: Callable[..., Run], tls_server: Callable[..., FaultServer], ca_bundle: str) -> None:
    """An EOF during the handshake (an overloaded server or proxy) may heal: all 4 attempts."""
    server = tls_server(hangup_on_accept=True)
    run = cli("status", "--json", "t", expect=69, base_url=server.url,
              env={"REQUESTS_CA_BUNDLE": ca_bundle})
    check_tls_failure(run, json_mode=True)
    assert server.connections == 4
    assert server.request_count == 0


def test_https_to_a_plain_http_server_is_69_at_once_with_the_fix(cli: Callable[..., Run], sim) -> None:  # type: ignore[no-untyped-def]
    """The simulator answers the ClientHello with an HTTP 400: on loopback that is a server
    speaking plain HTTP (issue 10 #8), which no retry heals: one attempt, and the fix named."""
    base = sim.url.replace("http://", "https://")
    run = cli("status", "--json", "t", expect=69, base_url=base)
    assert "Traceback" not in run.stderr and TLS_HINT not in run.stderr
    assert "use --base-url http://" in run.stderr
    assert json.loads(run.stdout)["error"]["kind"] == "network"
    assert sim.connections_opened == 1
    assert sim.request_count() == 0 or all(r.task_id is None for r in sim.requests)


def test_tls_handshake_stall_is_cut_at_the_deadline() -> None:
    """A server that accepts TCP and never answers the ClientHello: the watchdog cuts the
    handshake at the request deadline, although each recv alone would wait 5 s."""
    with FaultServer(never_answer()) as silent:
        client = ApiClient(silent.url.replace("http://", "https://"), CANARY,
                           timeouts=Timeouts(5.0, 5.0, 0.4),
                           policy=RetryPolicy(max_attempts=2, budget_s=1.0), sleep=lambda s: None)
        started = time.monotonic()
        with client, pytest.raises(ApiError) as caught:
            get_task_status(client, "t")
        elapsed = time.monotonic() - started
        assert silent.connections == 2
    assert caught.value.exit_code == 69 and "deadline" in caught.value.msg
    assert elapsed < 1.0 + 1.0


def test_tls_header_drip_is_cut_at_the_deadline(tls_server: Callable[..., FaultServer],
                                                 ca_bundle: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline watchdog also cuts a TLS socket (shut down at the file descriptor)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
    server = tls_server(header_drip(every_s=0.02))
    client = ApiClient(server.url, CANARY, timeouts=Timeouts(1.0, 1.0, 0.5),
                       policy=RetryPolicy(max_attempts=2, budget_s=1.5), sleep=lambda s: None)
    started = time.monotonic()
    with client, pytest.raises(ApiError) as caught:
        get_task_status(client, "t")
    elapsed = time.monotonic() - started
    assert caught.value.exit_code == 69 and "deadline" in caught.value.msg
    assert elapsed < 1.5 + 1.0
    assert server.request_count == 2


def test_https_to_the_plain_http_simulator_says_use_http(cli, sim) -> None:
    """Issue 10 #8: the TLS failure names the real cause and the fix, not clocks or CA bundles."""
    https = sim.url.replace("http://", "https://")
    run = cli("--base-url", https, "status", "demo-finished", expect=69)
    assert "this server speaks plain HTTP: use http://" in run.stderr
    assert f"hint: use --base-url {sim.url}" in run.stderr
    assert "REQUESTS_CA_BUNDLE" not in run.stderr
    assert len(sim.requests) == 0  # nothing HTTP ever reached it through TLS
