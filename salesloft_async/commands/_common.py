"""What every subcommand shares: the exit-code table, one-line errors, the OAuth client options.

Every subcommand ends with one of four codes, so a script can tell "fix the command" from "try
again" without reading the message:

* 0: done;
* 1: failed while running (the server, the network, the disk); rerunning may succeed;
* 2: bad usage or configuration (a typo, a wrong key, a file that is in the way); rerunning the
  same command will fail the same way;
* 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Iterable, Mapping

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    ReauthorizationRequired,
    SalesloftError,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ClientCredentials",
    "CommandError",
    "add_client_arguments",
    "client_credentials",
    "explain",
    "near_misses",
    "os_error",
    "printable",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: errors no rerun can fix: the command line or the credentials must change
_USAGE_ERRORS = (
    ConfigurationError,
    AuthenticationError,
    PermissionDeniedError,
    ReauthorizationRequired,
)


class CommandError(Exception):
    """A mistake or failure a command explains in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def os_error(exc: OSError, doing: str, advice: str, code: int = EXIT_USAGE) -> CommandError:
    """One line for an OS error: what was being done, to which path or port, why, what to do."""
    target = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return CommandError(f"cannot {doing}{target}: {reason}; {advice}", code)


def printable(text: str) -> str:
    """`text` with control characters escaped, so a server's words cannot drive the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def explain(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception that ends a command."""
    if isinstance(exc, CommandError):
        return exc.code, str(exc)
    if isinstance(exc, _USAGE_ERRORS):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, SalesloftError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, OSError):
        return EXIT_FAILED, str(os_error(exc, "continue at", "check the path and retry"))
    name = type(exc).__name__
    return EXIT_FAILED, f"unexpected {name}: {exc} (rerun with --debug for the traceback)"


def near_misses(names: Iterable[str], choices: Iterable[str]) -> str:
    """`names`, each followed by the choice it most likely meant: `peple (did you mean people?)`."""
    known = list(choices)
    said = []
    for name in names:
        close = difflib.get_close_matches(name, known, n=1)
        said.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return ", ".join(said)


ClientCredentials = tuple[str | None, str | None]


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """`--client-id` / `--client-secret`, the same on every subcommand that may need them."""
    parser.add_argument("--client-id", default=None, help="OAuth client id, or SALESLOFT_CLIENT_ID")
    parser.add_argument(
        "--client-secret",
        default=None,
        help="or SALESLOFT_CLIENT_SECRET (prefer the variable: arguments show in `ps`)",
    )


def client_credentials(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> ClientCredentials:
    """The OAuth client id and secret from the arguments, else the environment (None: not given)."""
    env = os.environ if env is None else env
    client_id = args.client_id or env.get("SALESLOFT_CLIENT_ID") or None
    secret = args.client_secret or env.get("SALESLOFT_CLIENT_SECRET") or None
    return client_id, secret
