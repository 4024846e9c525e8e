"""The SDK's errors: one root that keeps the gRPC code, a subclass per case, and a hint on what to do next."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ._connect import BAD_REQUEST_TYPE, WireError


class FastSandboxError(Exception):
    """Root of every error the SDK raises.

    ``str(err)`` names the field when there is one (``exposedPorts[1]: duplicate port``);
    ``field`` and ``raw_message`` hold the two parts apart. ``code`` is the gRPC status code in
    lower snake case (``not_found``, ``resource_exhausted``, ...).

    Example::

        try:
            fsb.sandboxes.get("web")
        except NotFoundError:
            print("no such sandbox")
    """

    def __init__(
        self, message: str, code: str, field: Optional[str] = None, hint: Optional[str] = None
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.field = field
        self.raw_message = message
        self.hint = hint


class NotFoundError(FastSandboxError):
    """The sandbox (or pool, or process, or namespace) does not exist."""


class AlreadyExistsError(FastSandboxError):
    """The name is taken by a sandbox with a different spec (or one being deleted)."""


class CapacityError(FastSandboxError):
    """The pool has no room for the sandbox and will not get any in time (RESOURCE_EXHAUSTED)."""


class AuthError(FastSandboxError):
    """The token is missing or wrong."""


class InvalidArgumentError(FastSandboxError):
    """The request is invalid; ``field`` names what."""


class UnavailableError(FastSandboxError):
    """The server (or an agent behind it) cannot be reached right now; retrying later may work."""


def to_sdk_error(err: WireError, endpoint: str, resource: str = "sandbox") -> FastSandboxError:
    """A wire failure as a typed error with a hint; ``resource`` (``sandbox``, ``pool`` or ``file``) picks
    hints that name the right command."""
    violation = field_violation(err.details)
    field, message = violation if violation else (None, err.message)
    code = err.code
    host = endpoint.split("://", 1)[-1]
    if code == "not_found":
        if resource == "file":
            hint = "check the path, and the sandbox's name and namespace (`fsb-ctl list -A`)"
        else:
            command = "fsb-ctl pools list -A" if resource == "pool" else "fsb-ctl list -A"
            hint = f"check the name and namespace (`{command}`)"
        return NotFoundError(message, code, field, hint)
    if code == "already_exists":
        return AlreadyExistsError(
            message, code, field, "use another name, or delete the existing sandbox first"
        )
    if code == "resource_exhausted":
        return CapacityError(
            message,
            code,
            field,
            "the pool is full and cannot grow in time: delete sandboxes you no longer need, "
            "or raise the pool's poolMax (`fsb-ctl pools get`)",
        )
    if code == "failed_precondition":
        return FastSandboxError(message, code, field, _precondition_hint(field))
    if code == "permission_denied" and resource == "file":
        # The API refuses tokens with UNAUTHENTICATED; this is the sandbox's own refusal.
        return FastSandboxError(
            message,
            code,
            field,
            "the sandbox does not allow this there (a read-only file system, or the file's permissions)",
        )
    if code in ("unauthenticated", "permission_denied"):
        return AuthError(
            message,
            code,
            field,
            "set FSB_TOKEN or a token in the config (`fsb-ctl config view`); "
            "`npm start` writes .fsb-dev/api-token",
        )
    if code == "invalid_argument":
        return InvalidArgumentError(message, code, field, "fix the request and try again")
    if code == "unavailable":
        if err.connection_failure:
            return UnavailableError(
                f"cannot reach Fast Sandbox at {host}",
                code,
                field,
                "is it running? (`npm start`), or point FSB_ENDPOINT at it",
            )
        return UnavailableError(message, code, field, "retry in a moment")
    if code == "deadline_exceeded":
        return FastSandboxError(
            message,
            code,
            field,
            "the call timed out (a create waits up to its timeout for a growing pool's new agents); "
            "retry, or raise the timeout",
        )
    return FastSandboxError(message, code, field)


def _precondition_hint(field: Optional[str]) -> Optional[str]:
    """What to do about a FAILED_PRECONDITION, by the field it names."""
    if field == "poolRef":
        return (
            "pools serve only their own namespace: see them with `fsb-ctl pools list -A`, "
            "or create this one with `fsb-ctl apply -f`"
        )
    if field == "image":
        return (
            "agents do not pull images: load it into the containerd of the pool's nodes, "
            "or pick a pool whose nodes have it"
        )
    if field == "exposedPorts":
        return "use a pool with runtimeType container to expose ports"
    if field and field.startswith("exposedPorts["):
        return (
            "stop what listens on that port on the node, or expose another port "
            "(sandboxes share the node's network)"
        )
    if field == "command":
        return "the command is not in the sandbox's image: give its full path, or pick an image that has it"
    return None


def field_violation(details: List[Tuple[str, bytes]]) -> Optional[Tuple[str, str]]:
    """The first ``(field, description)`` of a google.rpc.BadRequest detail, read from its
    binary form: the field travels as data, never parsed back out of the message."""
    for type_name, value in details:
        if type_name != BAD_REQUEST_TYPE:
            continue
        for number, violation in _fields(value):
            if number != 1 or not isinstance(violation, bytes):
                continue  # BadRequest.field_violations = 1
            parts = {n: v for n, v in _fields(violation) if isinstance(v, bytes)}
            field = parts.get(1, b"").decode("utf-8", "replace")
            if field:
                return field, parts.get(2, b"").decode("utf-8", "replace")
    return None


def _fields(data: bytes):
    """``(field number, value)`` of each field of a binary protobuf message: bytes for the
    length-delimited ones, ints for the rest. Stops at anything malformed."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        if key is None:
            return
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(data, pos)
            if value is None:
                return
        elif wire_type == 2:
            length, pos = _varint(data, pos)
            if length is None or pos + length > len(data):
                return
            value, pos = data[pos : pos + length], pos + length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            if pos + size > len(data):
                return
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        else:
            return
        yield number, value


def _varint(data: bytes, pos: int):
    result = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    return None, pos
