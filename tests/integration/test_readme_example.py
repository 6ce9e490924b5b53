"""The README's "Using it" example, run against the sandbox so the page cannot drift."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from salesloft_async import CostBudget, SalesloftClient
from salesloft_async.models import Person, User
from salesloft_async.sandbox import Sandbox


async def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    async with Sandbox(people=300, window=60, budget=600) as sb:
        budget = CostBudget(limit=600, window=60.0)
        async with SalesloftClient(api_key=sb.api_key, base_url=sb.url, budget=budget) as sl:
            me = await sl.me.get()
            person = await sl.people.get(42)
            since = datetime(2000, 1, 1, tzinfo=UTC)
            listed = [p async for p in sl.people.list(updated_at={"gte": since}, per_page=100)]
            new = await sl.people.create(email_address="ada@example.com", first_name="Ada")
            updated = await sl.people.update(new.id, title="CTO")
            await sl.people.delete(new.id)
            ckpt = str(tmp_path / "people.ckpt")
            read = [rec.id async for rec in sl.people.read_all(concurrency=8, checkpoint=ckpt)]
            raw = await sl.request("GET", "/v2/people", params={"per_page": 5})
    assert isinstance(me, User)
    assert isinstance(person, Person) and person.id == 42
    assert len(listed) == 300
    assert updated.title == "CTO"
    assert sorted(read) == sorted(p.id for p in listed)
    assert raw.status == 200 and raw.cost == 1 and raw.remaining is not None
    assert set(raw.data["metadata"]) >= {"paging", "sorting", "filtering"}
    assert budget.stats.rate_limited == 0
