"""Placeholder: the sandbox's OAuth authorization server is installed here."""

from __future__ import annotations

from typing import Any


def install_oauth(app: Any, sandbox: Any) -> None:
    """Add /oauth/authorize, /oauth/token and /oauth/revoke to the sandbox app."""
