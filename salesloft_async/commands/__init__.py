"""Subcommands of the `salesloft-async` command line, one module each."""
