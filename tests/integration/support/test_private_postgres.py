"""The private cluster the database-restart tests own: it stops, restarts and dies on demand."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.support.private_postgres import private_cluster


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        return await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


def test_a_private_cluster_keeps_its_data_and_port_through_a_kill_and_a_restart() -> None:
    with private_cluster() as cluster:
        url = cluster.create_database("kept")
        asyncio.run(_run(url, "CREATE TABLE marks (n int); INSERT INTO marks VALUES (7)"))

        cluster.kill()
        assert not cluster.running()
        assert not asyncio.run(_answers(url))

        cluster.start()
        assert asyncio.run(_fetch(url, "SELECT n FROM marks")) == 7
        cluster.restart("immediate")
        assert asyncio.run(_answers(url))


def test_a_private_cluster_says_why_it_cannot_start() -> None:
    with private_cluster() as cluster, pytest.raises(RuntimeError, match="pg_ctl start failed"):
        cluster.start()  # already running on its port: pg_ctl refuses


async def _run(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetch(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()
