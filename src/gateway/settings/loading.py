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
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(node: Any, environ: dict[str, str], path: str = "") -> Any:
    """Expand `${VAR}` / `${VAR:-default}` in every string scalar; unset VAR with no default fails."""
    if isinstance(node, dict):
        return {k: expand_env(v, environ, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v, environ, f"{path}.{i}") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    expanded = _VAR.sub(substitute, node)
    if missing:
        raise ConfigError([f"{path}: environment variable {missing[0]} is not set"])
    return expanded


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in error["loc"])
    message = "required" if error["type"] == "missing" else str(error["msg"])
    message = message.removeprefix("Value error, ")
    nested = re.match(r"^([A-Za-z_]\w*): (.*)$", message, re.S)
    if error["type"] == "value_error" and nested:  # "key: msg" from a model-level check
        path, message = f"{path}.{nested.group(1)}" if path else nested.group(1), nested.group(2)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{path}: {message}" if path else message


def parse_config(data: object, environ: dict[str, str] | None = None) -> AppConfig:
    environ = dict(os.environ) if environ is None else environ
    if not isinstance(data, dict):
        raise ConfigError(["the config file must be a YAML mapping"])
    expanded = expand_env(data, environ)
    try:
        return AppConfig.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors(include_url=False)]) from None  # type: ignore[arg-type]


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

