"""The Fast Sandbox client: where to connect, with which token, and the resource namespaces."""

from __future__ import annotations

import json
from typing import Dict, Iterator, Optional

from ._calls import Calls
from ._connect import Transport, WireError
from .config import resolve_config
from .pools import Pools
from .sandboxes import Sandboxes

#: A call without its own timeout gets this one (seconds): a create is ~70 ms, a strong one waits for Running.
DEFAULT_TIMEOUT = 60.0


class FastSandbox:
    """Connects to Fast Sandbox. With no arguments it finds what fsb-ctl finds: FSB_ENDPOINT,
    FSB_TOKEN, FSB_NAMESPACE and FSB_CONTEXT, then ./.fsb/config.yaml and ~/.fsb/config.yaml
    (so the system ``npm start`` runs needs nothing).

    ``timeout`` is each call's default, in seconds (None: no limit); every call takes its own.

    Example::

        from fast_sandbox import FastSandbox
        fsb = FastSandbox()
        box = fsb.sandboxes.create(image="busybox", command=["sleep", "600"])
        print(box.exec("echo hi").stdout)
        box.delete()
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        token: Optional[str] = None,
        namespace: Optional[str] = None,
        context: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
    ) -> None:
        config = resolve_config(endpoint=endpoint, token=token, namespace=namespace, context=context)
        self.endpoint = config.endpoint
        self.namespace = config.namespace
        self._calls = Calls(Transport(config.endpoint, config.token), config.namespace, timeout)
        #: Sandbox operations: create, get, list, update, reset, delete, watch.
        self.sandboxes = Sandboxes(self._calls)
        #: The pools of agents sandboxes run on.
        self.pools = Pools(self._calls)

    def __repr__(self) -> str:
        return f"FastSandbox({self.endpoint}, namespace={self.namespace})"

    def logs(
        self,
        name: str,
        namespace: Optional[str] = None,
        follow: bool = False,
        tail_lines: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Iterator[str]:
        """A sandbox's output as text chunks. With ``follow`` it keeps streaming until the
        process exits; ``tail_lines`` starts that many lines before the end."""
        return self.sandboxes._logs(name, namespace or self.namespace, follow, tail_lines, timeout)

    def server_version(self, timeout: Optional[float] = None) -> Dict[str, str]:
        """The server's version (``GET /version`` on the API port): ``version`` and ``node``."""
        wait = self._calls.timeout if timeout is None else timeout
        try:
            status, body = self._calls.transport.get("/version", wait)
        except WireError as err:
            raise self._calls.translate(err) from err
        if status != 200:
            raise self._calls.translate(WireError("unknown", f"GET /version answered {status}"))
        return json.loads(body.decode("utf-8"))
