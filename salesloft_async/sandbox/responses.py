"""Salesloft's answer shapes: `{"data": ...}`, `{"error": "..."}`, 422 `{"errors": {...}}`."""

from __future__ import annotations

import json

from aiohttp import web

__all__ = ["error_response", "errors_response", "json_response", "not_found"]


def json_response(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="application/json")


def error_response(status: int, message: str) -> web.Response:
    return json_response(json.dumps({"error": message}), status)


def errors_response(errors: dict[str, list[str]]) -> web.Response:
    return json_response(json.dumps({"errors": errors}), 422)


def not_found() -> web.Response:
    return error_response(404, "Not Found")
