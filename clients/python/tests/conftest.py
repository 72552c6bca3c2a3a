"""Starts a real enrichd over TLS on 127.0.0.1 (a free port) with a small demo warehouse, for the whole session.

The binaries come from the Swift build (ENRICHD, default <repo>/.build/debug/enrichd); certificates from
Scripts/gen-certs.sh. The server is stopped at the end.
"""
import os
import re
import subprocess
import tempfile
import time

import pytest

from enrich_client import SyncStatus, Client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ENRICHD = os.environ.get("ENRICHD", os.path.join(ROOT, ".build", "debug", "enrichd"))
PRODUCTS = 20000
USERS = 2000
OWNER_TOKEN = "enr_pytest_owner_0123456789abcdef"


@pytest.fixture(scope="session")
def server():
    work = tempfile.mkdtemp(prefix="enrich-pytest-")
    subprocess.run([os.path.join(ROOT, "Scripts", "gen-certs.sh"), os.path.join(work, "certs")], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([ENRICHD, "demo-data", "--warehouse", os.path.join(work, "data", "warehouse.sqlite"),
                    "--users", str(USERS), "--products", str(PRODUCTS)], check=True, stdout=subprocess.DEVNULL)
    log = open(os.path.join(work, "enrichd.log"), "w")
    process = subprocess.Popen(
        [ENRICHD, "serve", "--port", "0", "--metrics-port", "0", "--data-dir", os.path.join(work, "data"),
         "--tls-cert", os.path.join(work, "certs", "server.pem"),
         "--tls-key", os.path.join(work, "certs", "server-key.pem")],
        stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ, ENRICH_BOOTSTRAP_TOKEN=OWNER_TOKEN))
    line = process.stdout.readline()
    match = re.match(r"enrichd listening on .*:(\d+)$", line.strip())
    if not match:
        process.kill()
        raise RuntimeError(f"enrichd did not start: {line!r}; see {log.name}")
    info = {"host": "127.0.0.1", "port": int(match.group(1)), "ca_file": os.path.join(work, "certs", "ca.pem"),
            "token": OWNER_TOKEN}
    with Client(info["host"], info["port"], ca_file=info["ca_file"], token=OWNER_TOKEN) as client:
        client.create_model("users", "id", table="users")
        client.create_model("products", "sku", table="products")
        for model in ("users", "products"):
            run = client.trigger_sync(model)
            last = None
            for last in client.watch_sync(run.id):
                pass
            assert last.status == SyncStatus.SUCCESS, last
    yield info
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def client(server):
    with Client(server["host"], server["port"], ca_file=server["ca_file"], token=server["token"], timeout=10) as client:
        yield client


def sku(number):
    return "SKU-%07d" % number


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
