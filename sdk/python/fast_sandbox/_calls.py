"""What the resource classes get from their client: calls with the default timeout and typed errors."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional

from ._connect import Transport, WireError
from .errors import to_sdk_error

class Calls:
    """Runs calls on one endpoint and turns every wire failure into a typed error."""

    def __init__(self, transport: Transport, namespace: str, timeout: Optional[float]) -> None:
        self.transport = transport
        self.namespace = namespace
        #: Each unary call's timeout unless the call names its own; None waits forever.
        self.timeout = timeout

    def unary(
        self, method: str, request: Dict[str, Any], timeout: Optional[float] = None, resource: str = "sandbox"
    ) -> Dict[str, Any]:
        """A unary call's answer; ``timeout`` None takes the client's."""
        try:
            return self.transport.unary(method, request, self.timeout if timeout is None else timeout)
        except WireError as err:
            raise to_sdk_error(err, self.transport.endpoint, resource) from err

    def stream(
        self, method: str, request: Dict[str, Any], timeout: Optional[float] = None, resource: str = "sandbox"
    ) -> Iterator[Dict[str, Any]]:
        """The messages of a server stream; ``timeout`` bounds the whole stream (None: no bound)."""
        try:
            yield from self.transport.server_stream(method, request, timeout)
        except WireError as err:
            raise to_sdk_error(err, self.transport.endpoint, resource) from err

    def translate(self, err: WireError, resource: str = "sandbox"):
        return to_sdk_error(err, self.transport.endpoint, resource)
