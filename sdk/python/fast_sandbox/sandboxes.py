"""``fsb.sandboxes``: create, get, list, update, reset, delete and watch sandboxes."""

from __future__ import annotations

import codecs
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ._calls import Calls
from ._wire import format_time
from ._connect import decode_bytes
from .errors import FastSandboxError, InvalidArgumentError
from .sandbox import Sandbox
from .sandbox_info import SandboxDetails, to_details

SERVICE = "fastsandbox.v1.FastPathService"
_MODES = {None: "CONSISTENCY_MODE_UNSPECIFIED", "fast": "CONSISTENCY_MODE_FAST", "strong": "CONSISTENCY_MODE_STRONG"}
_POLICIES = {
    None: "FAILURE_POLICY_UNSPECIFIED",
    "Manual": "FAILURE_POLICY_MANUAL",
    "AutoRecreate": "FAILURE_POLICY_AUTO_RECREATE",
}
_EVENT_TYPES = {"TYPE_ADDED": "added", "TYPE_MODIFIED": "modified", "TYPE_DELETED": "deleted"}


@dataclass
class SandboxEvent:
    """One change seen by ``watch``: ``added``, ``modified``, ``deleted``, or ``synced`` (the end
    of the initial list, without a sandbox)."""

    type: str
    sandbox: Optional[SandboxDetails]


class Sandboxes:
    """Sandbox operations, reached as ``fsb.sandboxes``.

    Example::

        web = fsb.sandboxes.create(name="web", image="busybox", command=["httpd", "-f", "-p", "8080"],
                                   exposed_ports=[8080])
        team = fsb.sandboxes.list(label_selector="team=a")
    """

    def __init__(self, calls: Calls) -> None:
        self._calls = calls

    def create(
        self,
        image: str,
        name: Optional[str] = None,
        namespace: Optional[str] = None,
        command: Optional[Sequence[str]] = None,
        args: Optional[Sequence[str]] = None,
        env: Optional[Dict[str, str]] = None,
        working_dir: Optional[str] = None,
        exposed_ports: Optional[Sequence[int]] = None,
        pool: Optional[str] = None,
        mode: Optional[str] = None,
        failure_policy: Optional[str] = None,
        recovery_timeout_seconds: Optional[int] = None,
        expire_at: Optional[datetime] = None,
        expire_in: Optional[float] = None,
        resources: Optional[Dict[str, Any]] = None,
        labels: Optional[Dict[str, str]] = None,
        network: Optional[Dict[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Sandbox:
        """Creates a sandbox, or returns the existing one of that name if it has the same spec
        (``created`` is then False). ``mode`` is ``fast`` or ``strong``; ``failure_policy``
        ``Manual`` or ``AutoRecreate``; ``expire_in`` is seconds from now; ``resources`` takes
        ``cpu``, ``memory`` and ``pids``. ``network`` (where the pool lets a sandbox choose) takes
        ``mode`` (``isolated``, ``none`` or ``agent``) and ``egress``, a dict of ``default``
        (``allow`` or ``deny``) and ``allow`` and ``deny`` lists of IPv4 CIDRs, as in
        ``network={"egress": {"default": "deny", "allow": ["198.51.100.0/24"]}}``."""
        request: Dict[str, Any] = {
            "name": name or "",
            "namespace": namespace or self._calls.namespace,
            "image": image,
            "command": list(command or []),
            "args": list(args or []),
            "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
            "workingDir": working_dir or "",
            "exposedPorts": list(exposed_ports or []),
            "poolRef": pool or "",
            "consistencyMode": _choice(_MODES, mode, "mode"),
            "failurePolicy": _choice(_POLICIES, failure_policy, "failure_policy"),
            "labels": dict(labels or {}),
        }
        if recovery_timeout_seconds is not None:
            request["recoveryTimeoutSeconds"] = recovery_timeout_seconds
        expiry = _expiry(expire_at, expire_in)
        if expiry:
            request["expireTime"] = expiry
        if resources:
            request["resources"] = {k: v for k, v in resources.items() if v is not None}
        if network:
            request["network"] = _network(network)
        response = self._calls.unary(f"{SERVICE}/CreateSandbox", request, timeout)
        if "sandbox" not in response:
            raise FastSandboxError("the server answered without a sandbox", "internal")
        return Sandbox(to_details(response["sandbox"]), self, bool(response.get("created")))

    def get(self, name: str, namespace: Optional[str] = None, timeout: Optional[float] = None) -> Sandbox:
        """One sandbox; NotFoundError when it does not exist."""
        info = self._calls.unary(
            f"{SERVICE}/GetSandbox", {"name": name, "namespace": namespace or self._calls.namespace}, timeout
        )
        return Sandbox(to_details(info), self)

    def list(
        self,
        namespace: Optional[str] = None,
        all_namespaces: bool = False,
        label_selector: str = "",
        timeout: Optional[float] = None,
    ) -> List[Sandbox]:
        """The sandboxes of a namespace (or of all, with ``all_namespaces``), optionally by labels."""
        request = {"namespace": self._namespace(namespace, all_namespaces), "labelSelector": label_selector}
        response = self._calls.unary(f"{SERVICE}/ListSandboxes", request, timeout)
        return [Sandbox(to_details(info), self) for info in response.get("sandboxes", [])]

    def update(
        self,
        name: str,
        namespace: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
        expire_at: Optional[datetime] = None,
        expire_in: Optional[float] = None,
        no_expire: bool = False,
        failure_policy: Optional[str] = None,
        recovery_timeout_seconds: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Sandbox:
        """Changes labels (merged; an empty value removes one), expiry, failure policy or recovery timeout."""
        request: Dict[str, Any] = {
            "name": name,
            "namespace": namespace or self._calls.namespace,
            "labels": dict(labels or {}),
            "failurePolicy": _choice(_POLICIES, failure_policy, "failure_policy"),
        }
        expiry = _expiry(expire_at, expire_in)
        if no_expire:
            request["clearExpireTime"] = True
        elif expiry:
            request["expireTime"] = expiry
        if recovery_timeout_seconds is not None:
            request["recoveryTimeoutSeconds"] = recovery_timeout_seconds
        response = self._calls.unary(f"{SERVICE}/UpdateSandbox", request, timeout)
        return Sandbox(to_details(response["sandbox"]), self)

    def reset(self, name: str, namespace: Optional[str] = None, timeout: Optional[float] = None) -> Sandbox:
        """Recreates the sandbox's container from the same spec (a new ``id``)."""
        request = {"name": name, "namespace": namespace or self._calls.namespace, "reset": True}
        response = self._calls.unary(f"{SERVICE}/UpdateSandbox", request, timeout)
        return Sandbox(to_details(response["sandbox"]), self)

    def delete(
        self,
        name: str,
        namespace: Optional[str] = None,
        grace_period_seconds: Optional[int] = None,
        wait: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        """Deletes a sandbox (SIGTERM, grace period, SIGKILL). With ``wait``, returns once it is
        gone (within ``timeout`` seconds, if given). Deleting one that does not exist is a NotFoundError."""
        namespace = namespace or self._calls.namespace
        request: Dict[str, Any] = {"name": name, "namespace": namespace}
        if grace_period_seconds is not None:
            request["gracePeriodSeconds"] = grace_period_seconds
        started = time.monotonic()
        self._calls.unary(f"{SERVICE}/DeleteSandbox", request, timeout)
        if not wait:
            return
        remaining = None if timeout is None else max(0.001, timeout - (time.monotonic() - started))
        for details in self._watch_one(name, namespace, remaining):
            if details is None:
                return

    def watch(
        self,
        namespace: Optional[str] = None,
        all_namespaces: bool = False,
        label_selector: str = "",
        timeout: Optional[float] = None,
    ) -> Iterator[SandboxEvent]:
        """Every sandbox matching, one ``synced`` event, then changes as they happen. It runs until
        the loop stops (closing the iterator closes the stream) or ``timeout`` seconds pass.

        Example::

            for event in fsb.sandboxes.watch():
                print(event.type, event.sandbox and event.sandbox.phase)
        """
        request = {"namespace": self._namespace(namespace, all_namespaces), "labelSelector": label_selector}
        for event in self._calls.stream(f"{SERVICE}/WatchSandboxes", request, timeout):
            kind = event.get("type")
            if kind == "TYPE_SYNCED":
                yield SandboxEvent("synced", None)
            elif kind in _EVENT_TYPES and "sandbox" in event:
                yield SandboxEvent(_EVENT_TYPES[kind], to_details(event["sandbox"]))

    def _watch_one(
        self, name: str, namespace: str, timeout: Optional[float]
    ) -> Iterator[Optional[SandboxDetails]]:
        """The sandbox's details on every change, and None once it is deleted (or absent)."""
        seen = False
        events = self.watch(namespace=namespace, timeout=timeout)
        try:
            for event in events:
                if event.type == "synced":
                    if not seen:
                        yield None
                    continue
                if event.sandbox is None or event.sandbox.name != name:
                    continue
                seen = True
                yield None if event.type == "deleted" else event.sandbox
        finally:
            events.close()

    def _logs(
        self, name: str, namespace: str, follow: bool, tail_lines: Optional[int], timeout: Optional[float]
    ) -> Iterator[str]:
        request: Dict[str, Any] = {"name": name, "namespace": namespace, "follow": follow}
        if tail_lines is not None:
            request["tailLines"] = tail_lines
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        for chunk in self._calls.stream(f"{SERVICE}/GetSandboxLogs", request, timeout):
            text = decoder.decode(decode_bytes(chunk.get("data", "")))
            if text:
                yield text
        rest = decoder.decode(b"", final=True)
        if rest:
            yield rest

    def _namespace(self, namespace: Optional[str], all_namespaces: bool) -> str:
        return "*" if all_namespaces else (namespace or self._calls.namespace)


def _choice(choices: Dict[Optional[str], str], value: Optional[str], name: str) -> str:
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices if c)
        raise InvalidArgumentError(f"must be one of {allowed}, not {value!r}", "invalid_argument", name)
    return choices[value]


def _expiry(expire_at: Optional[datetime], expire_in: Optional[float]) -> Optional[str]:
    if expire_at is not None:
        return format_time(expire_at)
    if expire_in is not None:
        return format_time(datetime.now(timezone.utc) + timedelta(seconds=expire_in))
    return None


def _network(network: Dict[str, Any]) -> Dict[str, Any]:
    """The network settings as the wire has them; their values are the server's to check."""
    unknown = set(network) - {"mode", "egress"}
    if unknown:
        raise ValueError(f"network: unknown keys {sorted(unknown)}; use mode and egress")
    wire: Dict[str, Any] = {"mode": network.get("mode") or ""}
    egress = network.get("egress")
    if egress is not None:
        unknown = set(egress) - {"default", "allow", "deny"}
        if unknown:
            raise ValueError(f"network.egress: unknown keys {sorted(unknown)}; use default, allow and deny")
        wire["egress"] = {
            "default": egress.get("default") or "",
            "allow": list(egress.get("allow") or []),
            "deny": list(egress.get("deny") or []),
        }
    return wire
