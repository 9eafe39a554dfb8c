"""Reading the config file: `${VAR}` expansion, validation, errors named by key path."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.settings.app import AppConfig
from gateway.settings.base import ConfigError

DEFAULT_CONFIG_PATH = "lead-gateway.yaml"
CONFIG_ENV = "LEAD_GATEWAY_CONFIG"
SECRET_KEY_ENV = "LEAD_GATEWAY_SECRET_KEY"  # noqa: S105 - a variable's name; the Fernet key of the Bitrix24 app's tokens at rest
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(node: Any, environ: dict[str, str], path: str = "") -> Any:
    """Expand `${VAR}` / `${VAR:-default}` in every string scalar; every unset VAR with no default is
    reported, each with its key path, in one ConfigError."""
    problems: list[str] = []
    expanded = _expand(node, environ, path, problems)
    if problems:
        raise ConfigError(problems)
    return expanded


def _expand(node: Any, environ: dict[str, str], path: str, problems: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _expand(v, environ, f"{path}.{k}" if path else str(k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, environ, f"{path}.{i}", problems) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        problems.append(f"{path}: environment variable {name} is not set")
        return ""

    return _VAR.sub(substitute, node)


def _describe(error: dict[str, Any]) -> list[str]:
    """`key.path: message` lines for one validation error; a check that found several faults ("mon: ...",
    "sat: ..." on lines of their own) gives a line each."""
    path = ".".join(str(p) for p in error["loc"])
    message = "required" if error["type"] == "missing" else str(error["msg"])
    message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    lines = []
    for part in message.split("\n") if error["type"] == "value_error" else [message]:
        nested = re.match(r"^([A-Za-z_]\w*): (.*)$", part, re.S)
        where = path
        if error["type"] == "value_error" and nested:  # "key: msg" from a model-level check
            where, part = f"{path}.{nested.group(1)}" if path else nested.group(1), nested.group(2)
        lines.append(f"{where}: {part}" if where else part)
    return lines


def parse_config(data: object, environ: dict[str, str] | None = None) -> AppConfig:
    environ = dict(os.environ) if environ is None else environ
    if not isinstance(data, dict):
        raise ConfigError(["the config file must be a YAML mapping"])
    expanded = expand_env(data, environ)
    if environ.get(SECRET_KEY_ENV) and "secret_key" not in expanded:
        expanded["secret_key"] = environ[SECRET_KEY_ENV]
    try:
        return AppConfig.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError([line for e in exc.errors(include_url=False) for line in _describe(e)]) from None  # type: ignore[arg-type]


def resolve_config_path(explicit: str | None, environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    return Path(explicit or environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path, environ: dict[str, str] | None = None) -> AppConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file ({exc.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    return parse_config(data, environ)
