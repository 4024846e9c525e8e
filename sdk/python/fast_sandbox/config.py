"""Where a client finds Fast Sandbox, as fsb-ctl does: arguments > FSB_* env > ./.fsb/config.yaml >
~/.fsb/config.yaml, each setting on its own, with named contexts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ._yaml_subset import YamlSubsetError, parse

#: The endpoint a standalone system (``npm start``) serves on.
DEFAULT_ENDPOINT = "http://127.0.0.1:9090"
DEFAULT_NAMESPACE = "default"
#: The settings a context holds (the config file's spelling).
CONTEXT_KEYS = ("endpoint", "token", "tokenFile", "namespace")


class ConfigError(ValueError):
    """A config file that cannot be read as a config, or a context that does not exist."""


@dataclass
class ResolvedConfig:
    """What a client ends up using, and where each part came from."""

    endpoint: str
    token: Optional[str]
    namespace: str
    context: Optional[str]
    #: The config files that were read, nearest first.
    files: List[str]
    #: ``endpoint``, ``token``, ``namespace``, ``context``: ``argument``, ``env FSB_TOKEN``,
    #: ``context NAME in FILE``, ``tokenFile FILE (...)``, ``current-context in FILE``, ``default``.
    sources: Dict[str, Optional[str]] = field(default_factory=dict)


@dataclass
class ConfigEnvironment:
    """The outside world resolution reads; injectable so resolution is testable."""

    env: Mapping[str, str]
    cwd: str
    home: str
    read_file: Callable[[str], Optional[str]]


def default_environment() -> ConfigEnvironment:
    def read_file(path: str) -> Optional[str]:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError:
            return None

    return ConfigEnvironment(os.environ, os.getcwd(), str(Path.home()), read_file)


def config_paths(cwd: str, home: str) -> List[str]:
    """The two config file locations, nearest first."""
    return [os.path.join(cwd, ".fsb", "config.yaml"), os.path.join(home, ".fsb", "config.yaml")]


def parse_config_file(text: str, file: str) -> Dict[str, Any]:
    """A config file's contents; one this SDK cannot read as a config raises ConfigError naming it.

    Example::

        parse_config_file("current-context: local\\ncontexts:\\n  local:\\n    endpoint: http://h:9090\\n", "f")
    """
    try:
        config = parse(text) or {}
    except YamlSubsetError as err:
        raise ConfigError(
            f"{file} is not in the YAML this SDK reads (what fsb-ctl writes): {err}"
        ) from err
    contexts = config.get("contexts")
    if contexts is not None and not isinstance(contexts, dict):
        raise ConfigError(f"{file}: contexts must be a mapping of name to settings")
    for name, settings in (contexts or {}).items():
        if settings is not None and not isinstance(settings, dict):
            raise ConfigError(f"{file}: context {name} must be a mapping of settings")
        for key, value in (settings or {}).items():
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{file}: contexts.{name}.{key} must be a single value")
    current = config.get("current-context")
    if current is not None and not isinstance(current, str):
        raise ConfigError(f"{file}: current-context must be a name")
    return config


def resolve_config(
    endpoint: Optional[str] = None,
    token: Optional[str] = None,
    namespace: Optional[str] = None,
    context: Optional[str] = None,
    environment: Optional[ConfigEnvironment] = None,
) -> ResolvedConfig:
    """Resolves each setting separately, so the token may come from a file while the namespace
    comes from the environment. The context is the one named (argument, FSB_CONTEXT) or the
    nearest file's current-context.

    Example::

        config = resolve_config(context="cluster")
    """
    environment = environment or default_environment()
    env = environment.env
    files: List[Tuple[str, Dict[str, Any]]] = []
    for file in config_paths(environment.cwd, environment.home):
        text = environment.read_file(file)
        if text is not None:
            files.append((file, parse_config_file(text, file)))
    current_in = next((f for f in files if f[1].get("current-context")), None)
    context_name = context or env.get("FSB_CONTEXT") or (current_in and current_in[1]["current-context"])
    if context is not None:
        context_source: Optional[str] = "argument"
    elif env.get("FSB_CONTEXT") is not None:
        context_source = "env FSB_CONTEXT"
    else:
        context_source = current_in and f"current-context in {current_in[0]}"
    if context and not any(context in (config.get("contexts") or {}) for _, config in files):
        where = " or ".join(file for file, _ in files) or "any config file"
        raise ConfigError(f'no context "{context}" in {where}')

    def from_context(key: str) -> Optional[Tuple[str, str]]:
        for file, config in files:
            value = ((config.get("contexts") or {}).get(context_name) or {}).get(key) if context_name else None
            if value is not None:
                return value, f"context {context_name} in {file}"
        return None

    def pick(argument: Optional[str], env_name: str, *rest: Optional[Tuple[Optional[str], str]]):
        candidates = [(argument, "argument"), (env.get(env_name), f"env {env_name}"), *rest]
        return next((c for c in candidates if c is not None and c[0]), None)

    token_file = from_context("tokenFile")
    from_token_file = None
    if token_file:
        text = environment.read_file(token_file[0])
        from_token_file = (
            (text.strip() or None) if text is not None else None,
            f"tokenFile {token_file[0]} ({token_file[1]})",
        )
    chosen_endpoint = pick(endpoint, "FSB_ENDPOINT", from_context("endpoint"))
    chosen_token = pick(token, "FSB_TOKEN", from_context("token"), from_token_file)
    chosen_namespace = pick(namespace, "FSB_NAMESPACE", from_context("namespace"))
    return ResolvedConfig(
        endpoint=chosen_endpoint[0] if chosen_endpoint else DEFAULT_ENDPOINT,
        token=chosen_token[0] if chosen_token else None,
        namespace=chosen_namespace[0] if chosen_namespace else DEFAULT_NAMESPACE,
        context=context_name or None,
        files=[file for file, _ in files],
        sources={
            "endpoint": chosen_endpoint[1] if chosen_endpoint else "default",
            "token": chosen_token[1] if chosen_token else None,
            "namespace": chosen_namespace[1] if chosen_namespace else "default",
            "context": context_source or None,
        },
    )
