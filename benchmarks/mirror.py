"""The mirror: how fast the database takes rows, how fresh the copy stays, what idling costs.

    .venv/bin/python benchmarks/mirror.py              # about a minute
    .venv/bin/python benchmarks/mirror.py --quick      # smaller, for a smoke run

For SQLite (a file in a temp dir) and PostgreSQL (127.0.0.1:5432, database `test`, a schema made
and dropped for the run):

1. Initial-load rows per second into the database alone: 25,000 sandbox people, already turned
   into rows, written in the mirror's batches of 2,000 (target: >= 20,000/s, so the database is
   never what limits a team's 1,000 records per second).
2. Freshness, from the start of an API write (``PUT /v2/people/{id}``) to the commit of the row
   that carries it: with webhooks (target: p95 < 1 s) and with polling only every `--poll`
   seconds (target: p95 < interval + 1 s).  The sandbox runs in this process on loopback.
3. Budget per hour of idle following (nothing changes), counted by the sandbox while the mirror's
   loop runs an hour on an injected clock: a poll every 30 s plus an id sweep every hour, with
   webhooks (people's deletes are announced, so no sweep) and without.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from salesloft_async import SalesloftClient
from salesloft_async.mirror import Mirror, MirrorStore, PostgresStore, Row, SqliteStore
from salesloft_async.mirror.store import newest, row_of
from salesloft_async.mirror.webhooks import serve
from salesloft_async.sandbox import ManualClock, Sandbox

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[Callable[[], MirrorStore]]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            n = iter(range(1000))
            yield lambda: SqliteStore(Path(tmp) / f"bench{next(n)}.db")
        return
    import asyncpg

    schemas: list[str] = []

    def make() -> MirrorStore:
        schemas.append(f"mirror_bench_{secrets.token_hex(4)}")
        return PostgresStore(POSTGRES_URL, schema=schemas[-1])

    try:
        yield make
    finally:
        con = await asyncpg.connect(POSTGRES_URL)
        for schema in schemas:
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await con.close()


async def load_rate(
    make: Callable[[], MirrorStore], rows: Sequence[Row], repeat: int
) -> list[float]:
    rates = []
    for n in range(repeat):
        async with make() as store:  # type: ignore[attr-defined]
            name = f"people_{n}"
            await store.prepare(name)
            started = time.perf_counter()
            for i in range(0, len(rows), 2000):
                await store.write(name, rows[i : i + 2000], checkpoint={"n": i})
            rates.append(len(rows) / (time.perf_counter() - started))
    return rates


class Stopwatch:
    """Times from the start of each API write to the commit of the row carrying it."""

    def __init__(self, store: MirrorStore) -> None:
        self.pending: dict[str, float] = {}
        self.delays: list[float] = []
        self.done = asyncio.Event()
        write = store.write

        async def timed(resource: str, rows: Sequence[Row], **state: Any) -> None:
            await write(resource, rows, **state)
            now = time.perf_counter()
            for row in rows:
                for marker in [m for m in self.pending if m in row.record]:
                    self.delays.append(now - self.pending.pop(marker))
            if not self.pending:
                self.done.set()

        store.write = timed  # type: ignore[method-assign]


async def freshness(
    make: Callable[[], MirrorStore], *, webhooks: bool, poll: float, writes: int
) -> list[float]:
    rng = random.Random(18)
    async with (
        Sandbox(people=5_000, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        store = make()
        mirror = Mirror(
            sl, store, ["people"], poll_interval=poll, webhook_url="pending" if webhooks else None
        )
        runner = None
        if mirror.webhooks is not None:
            runner, port = await serve(mirror.webhook_app(), "127.0.0.1", 0)
            mirror.webhooks.url = f"http://127.0.0.1:{port}/"
        async with mirror:
            await mirror.load()
            watch = Stopwatch(store)
            follow = asyncio.create_task(mirror.run())
            await asyncio.sleep(0.5)
            for i in range(writes):
                marker = f"bench-{i}-{secrets.token_hex(4)}"
                watch.pending[marker] = time.perf_counter()
                watch.done.clear()  # set again only once this write, too, has reached the database
                await sl.people.update(rng.randrange(1, 5_000), title=marker)
                await asyncio.sleep(rng.uniform(0.05, 0.25))
            await asyncio.wait_for(watch.done.wait(), timeout=poll + 5)
            follow.cancel()
            await asyncio.gather(follow, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()
        if watch.pending:
            print(f"  {len(watch.pending)} writes never reached the database", file=sys.stderr)
        return watch.delays


async def idle_cost(make: Callable[[], MirrorStore], *, webhooks: bool, people: int) -> int:
    """Cost the sandbox charged for one hour of following with nothing changing."""
    clock = ManualClock()
    spent: list[int] = []  # the sandbox's cost count after the first iteration and after the hour

    async def sleep(seconds: float) -> None:
        if not spent:
            spent.append(sb.counters["cost"])
        clock.advance(seconds)
        if clock.now > start + 3600:
            spent.append(sb.counters["cost"])
            raise asyncio.CancelledError

    async with (
        Sandbox(people=people, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        # with webhooks subscribed (no delivery is needed: nothing changes)
        hook = "http://127.0.0.1:9/" if webhooks else None
        mirror = Mirror(sl, make(), ["people"], clock=clock, sleep=sleep, webhook_url=hook)
        async with mirror:
            await mirror.load()
            start = clock.now
            with suppress(asyncio.CancelledError):
                await mirror.run()
            return spent[-1] - spent[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--poll", type=float, default=2.0, help="poll interval for freshness")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    people = 5_000 if args.quick else 25_000
    repeat = 1 if args.quick else 3
    writes = 20 if args.quick else 80
    async with Sandbox(people=people) as sb:
        col = sb.store["people"]
        records = [col.records[i] for i in col.ids]
        rows = newest(row_of(r) for r in records)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: list[tuple[str, ...]] = []
    for kind in kinds:
        async with database(kind) as make:
            rates = await load_rate(make, rows, repeat)
            hooked = await freshness(make, webhooks=True, poll=30.0, writes=writes)
            polled = await freshness(make, webhooks=False, poll=args.poll, writes=writes)
            idle_polling = await idle_cost(make, webhooks=False, people=people)
            idle_hooks = await idle_cost(make, webhooks=True, people=people)
        results.append(
            (
                kind,
                f"{max(rates):,.0f} / {statistics.median(rates):,.0f}",
                f"{pct(hooked, 0.5) * 1000:.0f} ms / {pct(hooked, 0.95) * 1000:.0f} ms",
                f"{pct(polled, 0.5):.2f} s / {pct(polled, 0.95):.2f} s",
                f"{idle_hooks:,} / {idle_polling:,}",
            )
        )
    print(
        f"\n{len(rows):,} people; freshness over {writes} writes each; polling every"
        f" {args.poll:g} s; idle hour: poll 30 s, sweep 3600 s\n"
    )
    print(
        "| database | load rows/s into the DB, best / median | fresh with webhooks p50 / p95"
        f" | fresh polling every {args.poll:g} s p50 / p95"
        " | idle cost per hour, webhooks / polling only |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in results:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    asyncio.run(main())
