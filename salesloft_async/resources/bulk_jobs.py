"""Bulk jobs as one awaitable workflow: create, add data in batches, mark ready, poll, read results.

Salesloft runs a bulk job (say, 50,000 person upserts) on its side; the client's job is the
choreography around it.  `run()` does all of it and returns a `BulkJobRun` whose `results()` streams
the per-record outcomes.  Polling backs off exponentially and sleeps through the transport's
injected `sleep` (and reads its `clock`), so tests drive it without waiting.

Each job-data POST is sent once: the transport decides whether it may be retried, because
resending a batch that reached the server would queue its records twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import attrs

from ..errors import ConfigurationError, SalesloftError
from ..models import BulkJob, BulkJobResult
from ..pagination import Paginator
from ._base import UNSET
from ._generated import BulkJobsBase

__all__ = ["MAX_BATCH", "BulkJobRun", "BulkJobTimeoutError", "BulkJobs"]

#: the definition's limit on records per job-data request
MAX_BATCH = 5000
#: states after which a job changes no more
DONE_STATES = frozenset({"done", "completed", "complete", "failed", "error", "cancelled"})


class BulkJobTimeoutError(SalesloftError):
    """The job was not done within `max_wait` seconds; it keeps running on Salesloft's side."""

    def __init__(self, job: BulkJob, waited: float):
        self.job = job
        super().__init__(
            f"bulk job {job.id} still {job.state!r} after {waited:.0f}s"
            f" ({job.processed}/{job.total} processed); call bulk_jobs.wait({job.id}) to keep"
            " waiting, or read partial results with bulk_jobs.results()"
        )


@attrs.frozen
class BulkJobRun:
    """A finished (or at least submitted) job and the way to its results."""

    job: BulkJob
    records_sent: int
    _resource: BulkJobs = attrs.field(repr=False, alias="resource")

    def results(
        self, *, status: str | None = None, per_page: int = 100
    ) -> Paginator[BulkJobResult]:
        """Every record's outcome (`status` "success" or "error"), paged by `id[gt]`."""
        return self._resource.results(self.job.id, status=status, per_page=per_page)

    def __aiter__(self) -> AsyncIterator[BulkJobResult]:
        return self.results().__aiter__()


def _is_done(job: BulkJob) -> bool:
    state = job.state if isinstance(job.state, str) else ""
    return state.lower() in DONE_STATES or job.finished_at is not None


async def _batches(
    records: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]], size: int
) -> AsyncIterator[list[Mapping[str, Any]]]:
    batch: list[Mapping[str, Any]] = []
    if isinstance(records, AsyncIterable):
        async for record in records:
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
    else:
        for record in records:
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


class BulkJobs(BulkJobsBase):
    """Bulk jobs; `run()` is the whole workflow, the other methods are its steps."""

    async def submit(
        self,
        type: str,
        records: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        name: str | None = None,
        batch_size: int = 1000,
    ) -> tuple[BulkJob, int]:
        """Create the job, add every record in batches, and mark it ready to execute."""
        if not 1 <= batch_size <= MAX_BATCH:
            raise ConfigurationError(f"batch_size must be between 1 and {MAX_BATCH}")
        job = await self.create(type=type, name=name if name is not None else UNSET)
        sent = 0
        async for batch in _batches(records, batch_size):
            await self.create_job_data(job.id, data=batch)
            sent += len(batch)
        job = await self.update(job.id, ready_to_execute=True)
        return job, sent

    async def wait(
        self,
        job_id: int | str | None,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        max_wait: float | None = 3600.0,
    ) -> BulkJob:
        """Poll until the job is done, doubling the interval up to `max_poll_interval`."""
        clock, sleep = self._transport.clock, self._transport.sleep
        started = clock()
        delay = poll_interval
        while True:
            job = await self.get(job_id)
            if _is_done(job):
                return job
            if max_wait is not None and clock() - started + delay > max_wait:
                raise BulkJobTimeoutError(job, max_wait)
            await sleep(delay)
            delay = min(delay * 2, max_poll_interval)

    def results(
        self, job_id: int | str | None, *, status: str | None = None, per_page: int = 100
    ) -> Paginator[BulkJobResult]:
        """The outcome of every record of a finished job, paged by `id[gt]`."""
        return self.list_results(
            job_id, status=[status] if status is not None else None, per_page=per_page
        )

    async def run(
        self,
        type: str,
        records: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        name: str | None = None,
        batch_size: int = 1000,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        max_wait: float | None = 3600.0,
    ) -> BulkJobRun:
        """Submit the records as a job of `type` (e.g. "person/upsert") and wait for it.

        ``run = await sl.bulk_jobs.run("person/upsert", rows)``, then
        ``async for result in run.results(): ...``.
        """
        job, sent = await self.submit(type, records, name=name, batch_size=batch_size)
        job = await self.wait(
            job.id,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            max_wait=max_wait,
        )
        return BulkJobRun(job=job, records_sent=sent, resource=self)
