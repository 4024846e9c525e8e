"""``fsb.pools``: apply, get, list and delete SandboxPools (the pools of agents sandboxes run on)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from ._calls import Calls
from ._wire import int64, parse_time
from .errors import FastSandboxError, InvalidArgumentError
from .sandbox_info import SandboxCondition

SERVICE = "fastsandbox.v1.SandboxPoolService"
POOL_API_VERSION = "sandbox.fast.io/v1alpha1"
POOL_KIND = "SandboxPool"
#: The defaults pool.proto documents, for a field an older server leaves unset.
_DEFAULT_CAPACITY = {"poolMin": 1, "poolMax": 10, "bufferMin": 0, "bufferMax": 10}
_DEFAULT_MAX_SANDBOXES_PER_POD = 5


@dataclass
class PoolAgent:
    """One agent of a pool, as the controller sees it now."""

    id: str
    node: str
    healthy: bool
    draining: bool
    capacity: int
    allocated: int
    prewarm_ready: int
    #: ``starting``, ``running`` or ``stopping``; "" for an agent the controller did not launch.
    launch_state: str


@dataclass
class PoolDetails:
    """Everything the server reports about a pool. ``spec`` is the SandboxPool spec as the
    manifest spells it (``capacity.poolMin``, ``maxSandboxesPerPod``, ...), defaults applied."""

    name: str
    namespace: str
    uid: str
    spec: Dict[str, Any]
    generation: int
    observed_generation: int
    current_agents: int
    ready_agents: int
    total_slots: int
    allocated_slots: int
    conditions: List[SandboxCondition]
    agents: List[PoolAgent]
    labels: Dict[str, str]
    annotations: Dict[str, str]
    created_at: Optional[datetime]
    resource_version: str = ""


@dataclass
class ApplyPoolResult:
    """The pool after an apply, and what the apply did: ``created``, ``configured`` or ``unchanged``."""

    pool: PoolDetails
    outcome: str


class Pools:
    """The pools of agents that sandboxes are placed on. An apply creates a pool or replaces its
    spec, like ``kubectl apply``.

    Example::

        fsb.pools.apply({"name": "small-pool", "spec": {"capacity": {"poolMin": 1, "poolMax": 2}}})
        for pool in fsb.pools.list(all_namespaces=True):
            print(pool.namespace, pool.name, pool.ready_agents)
    """

    def __init__(self, calls: Calls) -> None:
        self._calls = calls

    def apply(self, pool: Dict[str, Any], timeout: Optional[float] = None) -> ApplyPoolResult:
        """Creates the pool, or replaces the spec, labels and annotations of the existing one.

        ``pool`` is a SandboxPool manifest (``apiVersion``, ``kind``, ``metadata``, ``spec``, as
        parsed from YAML) or the flat form (``name``, ``namespace``, ``labels``, ``annotations``,
        ``spec``). Unset spec fields take their defaults; a spec that breaks a rule is an
        InvalidArgumentError naming the field (``spec.capacity.poolMin``).
        """
        flat = _flat(pool)
        request = {
            "name": flat.get("name", ""),
            "namespace": flat.get("namespace") or self._calls.namespace,
            "labels": dict(flat.get("labels") or {}),
            "annotations": dict(flat.get("annotations") or {}),
            "spec": copy.deepcopy(flat.get("spec") or {}),
        }
        response = self._calls.unary(f"{SERVICE}/ApplyPool", request, timeout, "pool")
        if "pool" not in response:
            raise FastSandboxError("the server answered without a pool", "internal")
        outcome = "created" if response.get("created") else "configured" if response.get("changed") else "unchanged"
        return ApplyPoolResult(to_pool_details(response["pool"]), outcome)

    def get(self, name: str, namespace: Optional[str] = None, timeout: Optional[float] = None) -> PoolDetails:
        """One pool with its live agents; NotFoundError when it does not exist."""
        request = {"name": name, "namespace": namespace or self._calls.namespace}
        return to_pool_details(self._calls.unary(f"{SERVICE}/GetPool", request, timeout, "pool"))

    def list(
        self, namespace: Optional[str] = None, all_namespaces: bool = False, timeout: Optional[float] = None
    ) -> List[PoolDetails]:
        """The pools of a namespace, or of all namespaces with ``all_namespaces``."""
        request = {"namespace": namespace or self._calls.namespace, "allNamespaces": all_namespaces}
        response = self._calls.unary(f"{SERVICE}/ListPools", request, timeout, "pool")
        return [to_pool_details(p) for p in response.get("pools", [])]

    def delete(
        self, name: str, namespace: Optional[str] = None, force: bool = False, timeout: Optional[float] = None
    ) -> None:
        """Deletes a pool: its agents are drained and stopped once empty. A pool whose agents
        still run sandboxes is refused (code ``failed_precondition``) unless ``force``."""
        request = {"name": name, "namespace": namespace or self._calls.namespace, "force": force}
        try:
            self._calls.unary(f"{SERVICE}/DeletePool", request, timeout, "pool")
        except FastSandboxError as err:
            if err.code == "failed_precondition" and not force:
                raise FastSandboxError(
                    err.raw_message,
                    err.code,
                    err.field,
                    "delete the pool's sandboxes first, or delete it with force (`--force`)",
                ) from err
            raise


def to_pool_details(info: Dict[str, Any]) -> PoolDetails:
    """From the JSON of a PoolInfo."""
    spec = copy.deepcopy(info.get("spec") or {})
    spec["capacity"] = {**_DEFAULT_CAPACITY, **(spec.get("capacity") or {})}
    spec.setdefault("maxSandboxesPerPod", _DEFAULT_MAX_SANDBOXES_PER_POD)
    spec["runtimeType"] = spec.get("runtimeType") or "container"
    spec.setdefault("prewarm", [])
    spec.setdefault("network", {"mode": "isolated"})
    spec.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    return PoolDetails(
        name=info.get("name", ""),
        namespace=info.get("namespace", ""),
        uid=info.get("uid", ""),
        spec=spec,
        generation=int64(info.get("generation")),
        observed_generation=int64(info.get("observedGeneration")),
        current_agents=info.get("currentAgents", 0),
        ready_agents=info.get("readyAgents", 0),
        total_slots=info.get("totalSlots", 0),
        allocated_slots=info.get("allocatedSlots", 0),
        conditions=[
            SandboxCondition(
                c.get("type", ""),
                c.get("status", ""),
                c.get("reason", ""),
                c.get("message", ""),
                parse_time(c.get("lastTransitionTime")),
            )
            for c in info.get("conditions", [])
        ],
        agents=[
            PoolAgent(
                id=a.get("id", ""),
                node=a.get("node", ""),
                healthy=bool(a.get("healthy", False)),
                draining=bool(a.get("draining", False)),
                capacity=a.get("capacity", 0),
                allocated=a.get("allocated", 0),
                prewarm_ready=a.get("prewarmReady", 0),
                launch_state=a.get("launchState", ""),
            )
            for a in info.get("agents", [])
        ],
        labels=dict(info.get("labels", {})),
        annotations=dict(info.get("annotations", {})),
        created_at=parse_time(info.get("createdAt")),
        resource_version=info.get("resourceVersion", ""),
    )


def _flat(pool: Dict[str, Any]) -> Dict[str, Any]:
    """The flat form of either input; a manifest of another apiVersion or kind is refused."""
    if not isinstance(pool, dict):
        raise InvalidArgumentError("must be a mapping (a manifest or the flat form)", "invalid_argument", "pool")
    if "metadata" not in pool:
        return pool
    for key, want in (("apiVersion", POOL_API_VERSION), ("kind", POOL_KIND)):
        if pool.get(key) is not None and pool[key] != want:
            raise InvalidArgumentError(
                f"must be {want}, not {pool[key]!r}", "invalid_argument", key, "fix the request and try again"
            )
    metadata = pool["metadata"] or {}
    return {**{k: metadata.get(k) for k in ("name", "namespace", "labels", "annotations")}, "spec": pool.get("spec")}
