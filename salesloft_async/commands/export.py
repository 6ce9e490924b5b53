"""`salesloft-async export`: a whole resource as JSON lines, at the full budget, resumably.

    salesloft-async export people --sandbox --out people.jsonl

The output and its checkpoint move together: every time a page has been written the checkpoint
records the cursors, the output's byte offset and a SHA-256 of the output up to that offset.  A
rerun cuts the output back to that offset (dropping the lines of the page that was being written
when the process died) and appends from there, so a killed export, rerun, leaves every record
exactly once in the file.

A checkpoint also records what it belongs to: the resource, the filters, `--since`/`--until`, the
base URL, and the team and user the credentials act for (read from ``/v2/me``; never the key or
token itself).  All of it is compared before the output is touched and before "already complete"
is said: a checkpoint of another export is refused, naming what differs, and the output is cut
back only when its bytes still hash to what the checkpoint recorded.  Otherwise the file is left
byte for byte as it was.

`ExportOptions` is the whole command as a value, so `export()` runs without argparse; argparse
lives in `add_arguments` and `options_from_args`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import typing
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import attrs

from ..bulk import _RESERVED as READER_PARAMS
from ..bulk import BulkRead
from ..bulk.checkpoint import OutputCheckpoint
from ..client import DEFAULT_BASE_URL, SalesloftClient
from ..errors import ConfigurationError
from ..query import encode_value
from ..resources import ListResource, Resources
from ._common import EXIT_FAILED, EXIT_OK, CommandError, near_misses, os_error
from ._connect import (
    ConnectionOptions,
    SandboxDemo,
    add_connection_arguments,
    check_connection,
    connection_from_args,
    open_client,
)
from ._progress import Progress, plural
from ._resume import (
    check_output,
    check_places,
    compare,
    output_opener,
    read_checkpoint,
    verify_output,
)

__all__ = [
    "ExportOptions",
    "SandboxDemo",
    "add_arguments",
    "export",
    "exportable",
    "options_from_args",
    "run",
]

#: paging parameters the server takes but the reader sets itself
_NOT_FILTERS = READER_PARAMS | {"limit_paging_counts"}


def exportable() -> dict[str, type[ListResource[Any]]]:
    """Every list resource of the client, by attribute name, known without connecting."""
    found: dict[str, type[ListResource[Any]]] = {}
    for name, cls in sorted(typing.get_type_hints(Resources).items()):
        if isinstance(cls, type) and issubclass(cls, ListResource) and cls.list_path:
            found[name] = cls
    return found


def filter_names(resource: str) -> list[str]:
    """The `--filter` names `resource` takes: its list operation's parameters, paging excluded."""
    return sorted(exportable()[resource].list_params - _NOT_FILTERS)


DESCRIPTION = (
    "Export a resource as JSON lines at the full cost budget, resumably.\n\nresources: "
    + ", ".join(exportable())
)


@attrs.frozen
class ExportOptions(ConnectionOptions):
    """Everything one export needs; checked when built, before anything is read or written.

    :param resource: a list resource of the client, as it names it (``people``); see `exportable`.
    :param out: the JSON-lines file to write.
    :param checkpoint: the resume state (default: ``OUT.ckpt`` next to the output).
    :param since: only records updated at or after this aware datetime.
    :param until: only records updated before this aware datetime.
    :param filters: list filters of the resource, by the API's names; a tuple for several values.
    :param concurrency: cursors reading at once.
    :param overwrite: replace an output that has no checkpoint.

    The connection options (credentials, budget, `sandbox`) are `ConnectionOptions`'s, by keyword.
    """

    resource: str
    out: Path = attrs.field(converter=Path)
    checkpoint: Path | None = None
    since: datetime | None = None
    until: datetime | None = None
    filters: Mapping[str, str | tuple[str, ...]] = attrs.field(factory=dict)
    concurrency: int = 8
    overwrite: bool = False

    def __attrs_post_init__(self) -> None:
        resources = exportable()
        if self.resource not in resources:
            raise ConfigurationError(
                f"{near_misses([self.resource], resources)} is not a list resource; choose one"
                f" of: {', '.join(resources)}"
            )
        unknown = sorted(set(self.filters) - set(filter_names(self.resource)))
        if unknown:
            known = filter_names(self.resource)
            raise ConfigurationError(
                f"{self.resource} has no filter {near_misses(unknown, known)};"
                f" its filters: {', '.join(known) or 'none'}"
                " (use --since/--until for updated_at)"
            )
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ConfigurationError(
                    f"--{name} must be timezone-aware (e.g. 2026-01-01T00:00:00Z): a guessed"
                    " time zone would shift the range"
                )
            if value is not None:
                encode_value(f"--{name}", value)  # in range once in UTC, as it will be sent
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ConfigurationError("--since must be earlier than --until")
        if self.checkpoint_path.resolve() == self.out.resolve():
            # each save would replace the records written so far with the checkpoint
            raise ConfigurationError(
                f"--checkpoint {self.checkpoint_path} is the --out file; give it another name"
                " (by default OUT.ckpt)"
            )
        if self.concurrency < 1:
            raise ConfigurationError("--concurrency must be at least 1")
        check_connection(self)

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.out.with_name(self.out.name + ".ckpt")

    @property
    def url(self) -> str:
        """Where the records come from, as the checkpoint records it."""
        if self.sandbox is not None:
            return f"sandbox ({self.sandbox.people} people)"
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")

    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this export belongs to, but the credentials (known once asked)."""
        pairs = [
            [name, value]
            for name, values in sorted(self.filters.items())
            for value in ((values,) if isinstance(values, str) else values)
        ]
        return {
            "resource": self.resource,
            "filters": pairs,
            # one instant, one text: 02:00+02:00 is the same --since as 00:00Z
            "since": self.since.astimezone(UTC).isoformat() if self.since else None,
            "until": self.until.astimezone(UTC).isoformat() if self.until else None,
            "base_url": self.url,
        }


# -- argparse: the adapter ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource", help="a list resource, as the client names it (listed above)")
    parser.add_argument("--out", required=True, help="the JSON-lines file to write")
    parser.add_argument(
        "--since", default=None, help="only records updated at or after (ISO, with a time zone)"
    )
    parser.add_argument(
        "--until", default=None, help="only records updated before (ISO, with a time zone)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="cursors (default 8)")
    parser.add_argument(
        "--checkpoint", default=None, help="resume state (default: OUT.ckpt next to the output)"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a list filter of the resource; repeat a name for several values",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an output that has no checkpoint"
    )
    add_connection_arguments(parser, demo="export from an embedded sandbox (a demo)")


def options_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> ExportOptions:
    return ExportOptions(
        resource=args.resource,
        out=Path(args.out),
        checkpoint=Path(args.checkpoint) if args.checkpoint else None,
        since=_when("--since", args.since),
        until=_when("--until", args.until),
        filters=_filters(args.filter),
        concurrency=args.concurrency,
        overwrite=args.overwrite,
        **connection_from_args(args, env),
    )


def _when(flag: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"{flag}: {text!r} is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)"
        ) from None


def _filters(items: list[str]) -> dict[str, str | tuple[str, ...]]:
    filters: dict[str, str | tuple[str, ...]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--filter takes NAME=VALUE, got {item!r}")
        previous = filters.get(name)
        if previous is None:
            filters[name] = value
        else:
            filters[name] = (*((previous,) if isinstance(previous, str) else previous), value)
    return filters


def run(args: argparse.Namespace) -> int:
    return asyncio.run(export(options_from_args(args)))


# -- the export -----------------------------------------------------------------------------------


async def export(options: ExportOptions, *, err: TextIO | None = None) -> int:
    """Run one export; raises `CommandError` or a `SalesloftError` on a mistake or failure."""
    err = err or sys.stderr
    ckpt = options.checkpoint_path
    saved = read_checkpoint(ckpt)
    if saved is not None:
        compare(ckpt, saved, options.identity())
    check_output(options.out, ckpt, overwrite=options.overwrite, resuming=saved is not None)
    async with contextlib.AsyncExitStack() as stack:
        client, budget = await open_client(options, stack, err)
        identity = {**options.identity(), "credentials": await _whoami(client)}
        offset, digest = 0, None
        if saved is not None:
            compare(ckpt, saved, identity)
            if saved.get("complete"):
                print(
                    f"{options.out}: already complete ({ckpt} says so); delete {ckpt} to export"
                    " again"
                )
                return EXIT_OK
            offset, digest = verify_output(options.out, ckpt, saved)
        check_places(options.out, ckpt)
        sink = OutputCheckpoint(
            ckpt,
            output_opener(options.out, offset, resume=saved is not None),
            identity=identity,
            offset=offset,
            digest=digest,
        )
        reader: BulkRead[Any] = getattr(client, options.resource).read_all(
            since=options.since,
            until=options.until,
            concurrency=options.concurrency,
            checkpoint=sink,
            raw=True,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in options.filters.items()},
        )
        if reader.mode == "pages":
            print(
                f"note: {options.resource} cannot be sorted by updated_at: reading by page"
                " numbers (deep pages cost more, one cursor)",
                file=err,
            )
        if saved is not None:
            print(f"resuming from {ckpt}", file=err)
        progress = Progress(options.resource, reader.stats, budget, mode=options.progress, err=err)
        try:
            async with progress.running():
                await _write(reader, sink, options.out)
        except BaseException:
            if ckpt.exists():
                print(f"progress is saved in {ckpt}; rerun the same command to resume", file=err)
            raise
        stats = reader.stats
        print(
            f"wrote {plural(stats.records - stats.resumed_records, 'record')} to {options.out}"
            f" ({stats.records:,} in all) in {stats.elapsed:.1f}s:"
            f" {plural(stats.pages, 'page')}, cost {stats.cost:,}",
            file=err,
        )
    return EXIT_OK


async def _write(reader: AsyncIterator[Any], sink: OutputCheckpoint, out: Path) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    try:
        async with contextlib.aclosing(reader.__aiter__()) as records:  # type: ignore[type-var]
            async for record in records:
                sink.write(dumps(record).encode("utf-8") + b"\n")
        sink.write(b"")  # a read that found nothing still leaves the (empty) output it reports
        sink.close()
    except OSError as exc:
        if exc.filename is None:  # a write or flush of the output: say which file
            exc.filename = str(out)
        raise os_error(
            exc, "write", "free space or fix the file, then rerun", EXIT_FAILED
        ) from None
    finally:
        with contextlib.suppress(OSError):  # the error that ended the run says it already
            sink.close()


async def _whoami(client: SalesloftClient) -> dict[str, Any]:
    """The team and user the credentials act for: what a checkpoint's owner is compared by."""
    response = await client.request("GET", "/v2/me")
    data = response.data.get("data") if isinstance(response.data, dict) else None
    team = data.get("team") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(team, dict):
        raise CommandError("/v2/me did not say which team and user the credentials belong to", 1)
    return {"team_id": team.get("id"), "user_id": data.get("id")}
