"""`salesloft-async` command line: each subcommand lives in `salesloft_async.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: name -> help; each is a module in salesloft_async.commands with add_arguments() and run()
COMMANDS = {
    "sandbox": "Run the local Salesloft sandbox server.",
    "export": "Export a resource as JSON lines at the full cost budget, resumably.",
    "login": "Authorize with OAuth on a loopback callback and save the token.",
    "mirror": "Keep a live copy of lists in SQLite or PostgreSQL (or `mirror status`).",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="salesloft-async", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, help_text in COMMANDS.items():
        try:
            module = importlib.import_module(f"salesloft_async.commands.{name}")
        except ModuleNotFoundError:
            continue
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        code: int = modules[args.command].run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
