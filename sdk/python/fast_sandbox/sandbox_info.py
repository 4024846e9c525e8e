"""Plain SDK view of a sandbox: the wire SandboxInfo with datetimes and plain strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional

from ._wire import enum_name, parse_time

#: A sandbox's lifecycle phases; ``Succeeded`` is a process that exited 0, ``Failed`` any other end.
PHASES = ("Pending", "Bound", "Running", "Succeeded", "Failed", "Lost", "Expired", "Terminating")


@dataclass
class SandboxCondition:
    """A Kubernetes-style condition (``Scheduled``, ``Ready``)."""

    type: str
    status: str
    reason: str
    message: str
    last_transition_time: Optional[datetime]


@dataclass
class SandboxDetails:
    """Everything the server reports about a sandbox."""

    name: str
    namespace: str
    #: Empty for a fast-mode create until the server has recorded it.
    uid: str
    #: The container of the current incarnation; changes on recreate and reset.
    id: str
    phase: str
    image: str
    pool: str
    agent: str
    node: str
    #: ``ip:port`` for each exposed port.
    endpoints: List[str]
    created_at: Optional[datetime]
    started_at: Optional[datetime]
    exit_code: Optional[int]
    expire_time: Optional[datetime]
    #: ``Manual`` or ``AutoRecreate``.
    failure_policy: str
    #: ``fast`` or ``strong``.
    consistency_mode: str
    recreations: int
    labels: Dict[str, str]
    command: List[str]
    args: List[str]
    env: Dict[str, str]
    working_dir: str
    exposed_ports: List[int]
    #: ``cpu``, ``memory`` and ``pids`` where set; None without limits.
    resources: Optional[Dict[str, Any]]
    recovery_timeout_seconds: int
    conditions: List[SandboxCondition] = field(default_factory=list)
    reset_revision: Optional[datetime] = None
    accepted_reset_revision: Optional[datetime] = None


def to_details(info: Dict[str, Any]) -> SandboxDetails:
    """From the JSON of a SandboxInfo (proto3 JSON leaves out fields at their default)."""
    resources = info.get("resources")
    return SandboxDetails(
        name=info.get("name", ""),
        namespace=info.get("namespace", ""),
        uid=info.get("uid", ""),
        id=info.get("sandboxId", ""),
        phase=info.get("phase", ""),
        image=info.get("image", ""),
        pool=info.get("pool", ""),
        agent=info.get("agent", ""),
        node=info.get("node", ""),
        endpoints=list(info.get("endpoints", [])),
        created_at=parse_time(info.get("createdAt")),
        started_at=parse_time(info.get("startedAt")),
        exit_code=info.get("exitCode"),
        expire_time=parse_time(info.get("expireTime")),
        failure_policy=(
            "AutoRecreate"
            if enum_name(info.get("failurePolicy"), "FAILURE_POLICY_") == "AUTO_RECREATE"
            else "Manual"
        ),
        consistency_mode=(
            "strong" if enum_name(info.get("consistencyMode"), "CONSISTENCY_MODE_") == "STRONG" else "fast"
        ),
        recreations=info.get("recreations", 0),
        labels=dict(info.get("labels", {})),
        command=list(info.get("command", [])),
        args=list(info.get("args", [])),
        env={e.get("name", ""): e.get("value", "") for e in info.get("env", [])},
        working_dir=info.get("workingDir", ""),
        exposed_ports=list(info.get("exposedPorts", [])),
        resources=(
            {k: resources[k] for k in ("cpu", "memory", "pids") if resources.get(k) not in (None, "")}
            if resources is not None
            else None
        ),
        recovery_timeout_seconds=info.get("recoveryTimeoutSeconds", 0),
        conditions=[
            SandboxCondition(
                type=c.get("type", ""),
                status=c.get("status", ""),
                reason=c.get("reason", ""),
                message=c.get("message", ""),
                last_transition_time=parse_time(c.get("lastTransitionTime")),
            )
            for c in info.get("conditions", [])
        ],
        reset_revision=parse_time(info.get("resetRevision")),
        accepted_reset_revision=parse_time(info.get("acceptedResetRevision")),
    )
