"""`salesloft-async` command line: each subcommand lives in `salesloft_async.commands`.

Every subcommand shares one exit-code table (`commands._common`): 0 done, 1 failed while running,
2 bad usage or configuration, 130 interrupted.  A mistake ends in one line on stderr; `--debug`
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .commands._common import EXIT_INTERRUPTED, explain, printable

#: name -> help; each is a module in salesloft_async.commands with add_arguments() and run()
COMMANDS = {
    "sandbox": "Run the local Salesloft sandbox server.",
    "export": "Export a resource as JSON lines at the full cost budget, resumably.",
    "login": "Authorize with OAuth on a loopback callback and save the token.",
    "mirror": "Keep a live copy of lists in SQLite or PostgreSQL (or `mirror status`).",
}

#: what `salesloft-async --help` says: for the reader of the command, not of this module
DESCRIPTION = (
    "Work with the Salesloft v2 API from the shell: export a list as JSON lines, keep a live copy"
    " in SQLite or PostgreSQL, authorize with OAuth, or run a local Salesloft sandbox."
    " `salesloft-async COMMAND --help` says more.  A mistake ends in one line on stderr;"
    " --debug shows the traceback instead."
)

EPILOG = "exit codes: 0 done, 1 failed while running, 2 bad usage or configuration, 130 interrupted"


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="salesloft-async", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    modules: dict[str, object] = {}
    for name, help_text in COMMANDS.items():
        try:
            module = importlib.import_module(f"salesloft_async.commands.{name}")
        except ModuleNotFoundError:
            continue
        modules[name] = module
        child = sub.add_parser(
            name,
            help=help_text,
            description=getattr(module, "DESCRIPTION", help_text),
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # also accepted after the subcommand; SUPPRESS keeps the top-level value otherwise
        child.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
        )
        module.add_arguments(child)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = modules[args.command].run(args)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        code, message = explain(exc)
        print(f"{parser.prog} {args.command}: {printable(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
