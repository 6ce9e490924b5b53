"""Credentials: a personal API key, or OAuth tokens kept fresh by a `TokenManager`."""

from .apikey import ApiKey
from .app import AuthorizationRequest, Callback, ClientAuthMethod, OAuthApp
from .errors import (
    InvalidClientError,
    OAuthError,
    ReauthorizationRequired,
    StateMismatchError,
    TokenStoreError,
)
from .manager import TokenManager, TokenSavedHook
from .stores import FileTokenStore, MemoryTokenStore, TokenStore
from .token import Token

__all__ = [
    "ApiKey",
    "AuthorizationRequest",
    "Callback",
    "ClientAuthMethod",
    "FileTokenStore",
    "InvalidClientError",
    "MemoryTokenStore",
    "OAuthApp",
    "OAuthError",
    "ReauthorizationRequired",
    "StateMismatchError",
    "Token",
    "TokenManager",
    "TokenSavedHook",
    "TokenStore",
    "TokenStoreError",
]
