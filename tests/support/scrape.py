"""Reading ``/metrics`` the way Prometheus does, for the operations tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Samples", "scrape", "value", "wait_for_metric"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""(series name, labels) -> value."""


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Samples:
    answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels``, or None."""
    return samples.get((name, frozenset(labels.items())))


async def wait_for_metric(
    client: httpx.AsyncClient, check: Callable[[Samples], bool], timeout: float = 15.0
) -> Samples:
    """Scrape until ``check`` holds (TimeoutError otherwise); returns that scrape.

    A server that does not answer yet (still starting) counts as "not yet"."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                samples = await scrape(client)
            except httpx.TransportError:
                samples = {}
            if samples and check(samples):
                return samples
            await asyncio.sleep(0.05)  # sleep-ok: polling a condition with a deadline
