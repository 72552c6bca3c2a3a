"""The clients and a draining server: every call sent gets a status, calls refused unstarted are sent again,
and the next call after a restart goes to a new connection (docs/PROTOCOL.md, "Draining")."""
import asyncio
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

from conftest import ENRICHD, ROOT
from enrich_client import AsyncClient, Client, EnrichError

TOKEN = "enr_pytest_drain_0123456789abcdef"


def start(work, port=0):
    process = subprocess.Popen(
        [ENRICHD, "serve", "--port", str(port), "--metrics-port", "0", "--data-dir", os.path.join(work, "data"),
         "--tls-cert", os.path.join(work, "certs", "server.pem"), "--tls-key", os.path.join(work, "certs", "server-key.pem"),
         "--drain-grace-seconds", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, ENRICH_BOOTSTRAP_TOKEN=TOKEN))
    match = re.match(r"enrichd listening on .*:(\d+)$", process.stdout.readline().strip())
    assert match, "enrichd did not start"
    return process, int(match.group(1))


def make_server():
    work = tempfile.mkdtemp(prefix="enrich-pytest-drain-")
    subprocess.run([os.path.join(ROOT, "Scripts", "gen-certs.sh"), os.path.join(work, "certs")], check=True,
                   stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(work, "data"))
    return work


def test_sync_client_through_a_drain_and_a_restart():
    work = make_server()
    process, port = start(work)
    client = Client("127.0.0.1", port, ca_file=os.path.join(work, "certs", "ca.pem"), token=TOKEN, timeout=10)
    outcomes = {}
    stop = threading.Event()

    def worker():
        while not stop.is_set():
            try:
                client.list_models()
                key = "ok"
            except EnrichError as error:
                key = "lost" if "connection closed by the server" in error.message else error.code.name
            outcomes[key] = outcomes.get(key, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    restarted, _ = start(work, port)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(30)
    try:
        assert outcomes.get("lost", 0) == 0, outcomes
        assert outcomes.get("ok", 0) > 0, outcomes
        # After the restart the client works again on a new connection.
        assert client.health().status == "SERVING"
    finally:
        client.close()
        restarted.terminate()
        restarted.wait(30)


def test_async_client_through_a_drain_and_a_restart():
    work = make_server()
    process, port = start(work)

    async def scenario():
        outcomes = {}
        async with AsyncClient("127.0.0.1", port, ca_file=os.path.join(work, "certs", "ca.pem"), token=TOKEN,
                               timeout=10) as client:
            stop = asyncio.Event()

            async def worker():
                while not stop.is_set():
                    try:
                        await client.list_models()
                        key = "ok"
                    except EnrichError as error:
                        key = "lost" if "connection closed by the server" in error.message else error.code.name
                    except OSError:
                        key = "not sent"
                        await asyncio.sleep(0.05)
                    outcomes[key] = outcomes.get(key, 0) + 1

            tasks = [asyncio.create_task(worker()) for _ in range(8)]
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            await asyncio.get_running_loop().run_in_executor(None, process.wait, 30)
            restarted, _ = start(work, port)
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*tasks)
            health = await client.health()
            return outcomes, health, restarted

    outcomes, health, restarted = asyncio.run(scenario())
    try:
        assert outcomes.get("lost", 0) == 0, outcomes
        assert outcomes.get("ok", 0) > 0, outcomes
        assert health.status == "SERVING"
    finally:
        restarted.terminate()
        restarted.wait(30)


class FakeDrainingServer:
    """A plaintext server that answers the first call on each connection OK and, on its first connection only,
    then says it is draining and refuses the next call unstarted: what a client sees in the race between the
    drain signal and a call it already sent."""

    def __init__(self):
        import socket
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        from enrich_client import wire
        from enrich_client.proto import admin_pb2, rpc_pb2
        import struct
        while True:
            sock, _ = self.listener.accept()
            self.connections += 1
            first = self.connections == 1
            frames = wire.FrameBuffer()
            answered = 0
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                for kind, rid, _ in frames.feed(data):
                    if kind != wire.KIND_REQUEST:
                        continue
                    if first and answered == 1:
                        goaway = rpc_pb2.Status(code=14, message="draining")
                        goaway.metadata.add(key="enrich-goaway", value="draining")
                        body = goaway.SerializeToString()
                        sock.sendall(wire.HEADER.pack(len(body), wire.KIND_STATUS, 0) + body)
                        sock.sendall(wire.HEADER.pack(len(body), wire.KIND_STATUS, rid) + body)
                        continue
                    response = admin_pb2.HealthCheckResponse(status="SERVING").SerializeToString()
                    sock.sendall(wire.HEADER.pack(len(response), wire.KIND_MESSAGE, rid) + response)
                    sock.sendall(wire.HEADER.pack(0, wire.KIND_STATUS, rid))
                    answered += 1
            sock.close()


def test_sync_client_resends_a_call_refused_unstarted_on_a_new_connection():
    server = FakeDrainingServer()
    client = Client("127.0.0.1", server.port, insecure_plaintext=True, timeout=5)
    try:
        assert client.health().status == "SERVING"
        assert client.health().status == "SERVING"  # refused unstarted on the first connection, resent
        assert server.connections == 2
    finally:
        client.close()


def test_async_client_resends_a_call_refused_unstarted_on_a_new_connection():
    server = FakeDrainingServer()

    async def scenario():
        async with AsyncClient("127.0.0.1", server.port, insecure_plaintext=True, timeout=5) as client:
            first = await client.health()
            second = await client.health()
            return first, second

    first, second = asyncio.run(scenario())
    assert first.status == "SERVING" and second.status == "SERVING"
    assert server.connections == 2
