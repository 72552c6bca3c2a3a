"""The asyncio client against a real enrichd over TLS."""
import asyncio

import pytest

from enrich_client import SyncStatus, AsyncClient, NotFound, Unavailable

from conftest import sku


def run(coroutine):
    return asyncio.run(coroutine)


def test_async_calls(server):
    async def main():
        async with AsyncClient(server["host"], server["port"], ca_file=server["ca_file"], token=server["token"]) as client:
            assert (await client.health()).status == "SERVING"
            rows = await client.lookup("products", [sku(9)], columns=["product_id"])
            assert rows == [{"product_id": 9}]
            results = await client.enrich([{"userId": 3}], model="users", key_path="userId", enrichments={"plan": "plan"})
            assert results[0].outcome == "enriched" and "plan" in results[0].event
            with pytest.raises(NotFound):
                await client.lookup("ghost", ["1"])
    run(main())


def test_many_calls_in_flight_answered_out_of_order(server):
    """A slow streaming call and 100 lookups share one connection; the lookups finish while the stream runs."""
    async def main():
        async with AsyncClient(server["host"], server["port"], ca_file=server["ca_file"], token=server["token"]) as client:
            started = await client.trigger_sync("products")
            finished = []

            async def watch():
                async for state in client.watch_sync(started.id):
                    last = state
                finished.append("watch")
                return last

            async def lookup(n):
                rows = await client.lookup("products", [sku(n)], columns=["product_id"])
                assert rows[0]["product_id"] == n
                finished.append("lookup")

            watcher = asyncio.ensure_future(watch())
            await asyncio.sleep(0)
            await asyncio.gather(*(lookup(n) for n in range(1, 101)))
            last = await watcher
            assert last.status == SyncStatus.SUCCESS
            assert finished.count("lookup") == 100 and finished[-1] == "watch"
    run(main())


def test_async_reconnects_after_the_server_drops_the_connection(server):
    async def main():
        async with AsyncClient(server["host"], server["port"], ca_file=server["ca_file"], token=server["token"]) as client:
            assert (await client.health()).status == "SERVING"
            await client._send_raw(bytes([0, 0, 0, 0, 99, 0, 0, 0, 1]))
            await asyncio.sleep(0.2)
            rows = await client.lookup("products", [sku(4)], columns=["product_id"])
            assert rows == [{"product_id": 4}]
    run(main())


def test_async_connection_failure_is_one_plain_line(server):
    import socket

    from enrich_client import ConnectionFailed

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main():
        async with AsyncClient("127.0.0.1", port, ca_file=server["ca_file"]) as client:
            await client.health()

    with pytest.raises(ConnectionFailed) as refused:
        asyncio.run(main())
    assert refused.value.message == f"nothing listens on 127.0.0.1:{port} — is enrichd running?"
