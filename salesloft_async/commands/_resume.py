"""Whether an export's checkpoint and output may be resumed, decided before either is touched.

An export checkpoint says what it belongs to (`belongs_to`: the resource, filters, range, base
URL and the credentials' team and user) and pins the output by its length and a SHA-256 of its
bytes (`output`).  These functions refuse, in one line that names the difference, anything that
does not match: a file that is not an export checkpoint, a checkpoint of another export, an output
that is not the one the checkpoint was written with.  Refusing leaves both files as they were.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from ..bodies import loads
from ..bulk.checkpoint import output_digest, read_checkpoint_bytes
from ._common import CommandError, os_error

__all__ = [
    "check_output",
    "check_places",
    "compare",
    "output_opener",
    "read_checkpoint",
    "verify_output",
]


def read_checkpoint(ckpt: Path) -> dict[str, Any] | None:
    """The saved export checkpoint, None when there is none; refuses anything else untouched."""
    try:
        raw = read_checkpoint_bytes(ckpt)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CommandError(
            f"checkpoint {ckpt} is a directory; name a file with --checkpoint"
        ) from None
    except OSError as exc:
        raise os_error(exc, "read checkpoint", "check it, or give another --checkpoint") from None
    try:
        saved = loads(raw)  # not UTF-8 and nested too deeply are ValueErrors too
    except ValueError:
        saved = None
    output = saved.get("output") if isinstance(saved, dict) else None
    if (
        not isinstance(saved, dict)
        or not isinstance(saved.get("belongs_to"), dict)
        or not isinstance(output, dict)
        or not isinstance(output.get("offset"), int)
        or not isinstance(output.get("sha256"), str)
    ):
        raise CommandError(
            f"{ckpt} is not a checkpoint of `salesloft-async export` (or one written by an older"
            " version); nothing was changed: move it away, or give another --checkpoint"
        )
    return saved


#: identity keys as the refusal names them
_LABELS = {
    "resource": "resource",
    "filters": "--filter",
    "since": "--since",
    "until": "--until",
    "base_url": "base URL",
    "credentials": "credentials",
}


def _show(key: str, value: Any) -> str:
    if value is None or value == []:
        return "none"
    if key == "filters":
        return " ".join(f"{name}={v}" for name, v in value)
    if key == "credentials" and isinstance(value, dict):
        return f"team {value.get('team_id')}, user {value.get('user_id')}"
    return str(value)


def compare(ckpt: Path, saved: Mapping[str, Any], identity: Mapping[str, Any]) -> None:
    """Refuse a checkpoint that belongs to another export, naming every difference."""
    belongs = saved["belongs_to"]
    differences = [
        f"{_LABELS[key]} {_show(key, belongs.get(key))} (this run: {_show(key, value)})"
        for key, value in identity.items()
        if belongs.get(key) != value
    ]
    if differences:
        raise CommandError(
            f"{ckpt} belongs to another export: {'; '.join(differences)}. Nothing was changed:"
            " rerun with the checkpoint's settings, give another --out, or delete the checkpoint"
            " and its output to start over"
        )


def check_output(out: Path, ckpt: Path, *, overwrite: bool, resuming: bool) -> None:
    """Refuse an output that cannot be written, or that a fresh export would overwrite unasked."""
    directory = out.parent
    if not directory.is_dir():
        raise CommandError(
            f"cannot write {out}: directory {directory} does not exist; create it or choose"
            " another --out"
        )
    if out.is_dir():
        raise CommandError(f"--out {out} is a directory; name a file inside it, e.g. {out / 'x'}")
    if resuming or not out.exists() or overwrite:
        return
    try:
        size = out.stat().st_size
    except OSError as exc:
        raise os_error(exc, "read", "choose another --out") from None
    if size > 0:
        raise CommandError(
            f"{out} exists and there is no checkpoint {ckpt} to resume from;"
            " pass --overwrite to replace it, or choose another --out"
        )


def verify_output(out: Path, ckpt: Path, saved: Mapping[str, Any]) -> tuple[int, Any]:
    """The offset to cut the output back to, and the hash of the bytes before it.

    Only an output whose first `offset` bytes hash to what the checkpoint recorded is cut: that
    proves the checkpoint was written with this very file.
    """
    output = saved["output"]
    offset, expected = output["offset"], output["sha256"]
    advice = "Nothing was changed: delete the checkpoint and the output to start over"
    if not out.exists():
        if offset == 0:
            return 0, None
        raise CommandError(f"{out} is missing, but {ckpt} records {offset:,} bytes of it. {advice}")
    try:
        digest = output_digest(out, offset)
    except OSError as exc:
        raise os_error(exc, "read", "check its permissions") from None
    if digest is None or digest.hexdigest() != expected:
        raise CommandError(
            f"{out} is not the file {ckpt} was written with (its first {offset:,} bytes differ or"
            f" are missing). {advice}"
        )
    return offset, digest


def output_opener(out: Path, offset: int, *, resume: bool) -> Callable[[], IO[bytes]]:
    """Opens the output when the first page is written: cut back to `offset` when resuming."""

    def open_output() -> IO[bytes]:
        try:
            if resume and out.exists():
                handle = open(out, "r+b")  # noqa: SIM115 - closed by the checkpoint
                handle.truncate(offset)  # the lines of the page in progress at the crash
                handle.seek(offset)
                return handle
            return open(out, "wb")
        except OSError as exc:
            raise os_error(exc, "write", "choose another --out") from None

    return open_output


def check_places(out: Path, ckpt: Path) -> None:
    """Refuse an output or a checkpoint that cannot be written, before the first page is: else
    that page would be written with no checkpoint to resume it from.  Nothing is left behind."""
    try:
        if out.exists():
            open(out, "r+b").close()  # opened only to be refused now, not after a page
        else:
            open(out, "xb").close()
            out.unlink()
    except OSError as exc:
        raise os_error(exc, "write", "choose another --out") from None
    place = ckpt.parent  # the checkpoint creates missing folders: the nearest existing one counts
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        with tempfile.TemporaryFile(dir=place):  # the save writes a temporary file there too
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CommandError(
            f"cannot write checkpoint {ckpt} (in {place}): {reason}; choose another --checkpoint"
        ) from None
