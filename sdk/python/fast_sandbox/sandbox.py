"""A handle on one sandbox: its details plus the operations that concern it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Dict, Iterator, Optional, Sequence, Union

from .errors import FastSandboxError, NotFoundError
from .files import Files
from .processes import ExecResult, OutputCallback, Processes, StdinSource
from .sandbox_info import SandboxDetails

if TYPE_CHECKING:
    from .sandboxes import Sandboxes


class Sandbox:
    """A sandbox as returned by create, get and list.

    Example::

        box = fsb.sandboxes.create(image="busybox", command=["sleep", "600"])
        result = box.exec(["echo", "hi"])
        print(box.name, box.id, result.stdout)
        box.delete()
    """

    def __init__(self, details: SandboxDetails, sandboxes: "Sandboxes", created: bool = True) -> None:
        #: The details as of the last call that returned them (see ``refresh``).
        self.details = details
        #: False when a create found this sandbox already existing with the same spec.
        self.created = created
        self._sandboxes = sandboxes
        #: The processes running in the sandbox: list, kill and attach.
        self.processes = Processes(sandboxes._calls, details.name, details.namespace)
        #: The sandbox's files: read, write, list, stat, mkdir, remove, move, upload, download.
        self.files = Files(sandboxes._calls, details.name, details.namespace)

    def __repr__(self) -> str:
        return f"Sandbox({self.namespace}/{self.name}, {self.phase})"

    @property
    def name(self) -> str:
        return self.details.name

    @property
    def namespace(self) -> str:
        return self.details.namespace

    @property
    def id(self) -> str:
        """The current container's id (changes on recreate and reset)."""
        return self.details.id

    @property
    def phase(self) -> str:
        return self.details.phase

    @property
    def endpoints(self):
        return self.details.endpoints

    @property
    def agent(self) -> str:
        return self.details.agent

    def refresh(self, timeout: Optional[float] = None) -> "Sandbox":
        """Reloads the details from the server."""
        self.details = self._sandboxes.get(self.name, namespace=self.namespace, timeout=timeout).details
        return self

    def delete(
        self, grace_period_seconds: Optional[int] = None, wait: bool = False, timeout: Optional[float] = None
    ) -> None:
        """Deletes the sandbox; with ``wait``, returns once it is gone."""
        self._sandboxes.delete(
            self.name,
            namespace=self.namespace,
            grace_period_seconds=grace_period_seconds,
            wait=wait,
            timeout=timeout,
        )

    def logs(
        self, follow: bool = False, tail_lines: Optional[int] = None, timeout: Optional[float] = None
    ) -> Iterator[str]:
        """Its output (stdout and stderr as written), as text chunks."""
        return self._sandboxes._logs(self.name, self.namespace, follow, tail_lines, timeout)

    def wait_until(
        self, phase: Union[str, Callable[[SandboxDetails], bool]], timeout: Optional[float] = None
    ) -> "Sandbox":
        """Returns when the sandbox reaches ``phase`` (or the predicate holds), watching rather
        than polling. Raises NotFoundError if it does not exist or is deleted first, and a
        ``deadline_exceeded`` FastSandboxError after ``timeout`` seconds."""
        done = phase if callable(phase) else (lambda d: d.phase == phase)
        if done(self.details):
            return self
        target = phase if isinstance(phase, str) else "the awaited state"
        started = time.monotonic()
        try:
            for details in self._sandboxes._watch_one(self.name, self.namespace, timeout):
                if details is None:
                    raise NotFoundError(
                        f"sandbox {self.namespace}/{self.name} was deleted", "not_found"
                    )
                self.details = details
                if done(details):
                    return self
        except FastSandboxError as err:
            if err.code != "deadline_exceeded":
                raise
            waited = time.monotonic() - started
            raise FastSandboxError(
                f"sandbox {self.name} did not reach {target} in time ({waited:.1f} s)", "deadline_exceeded"
            ) from err
        raise FastSandboxError(f"watch of sandbox {self.name} ended early", "unavailable")

    def exec(
        self,
        cmd: Union[str, Sequence[str]],
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[str] = None,
        user: Optional[str] = None,
        stdin: StdinSource = None,
        timeout: Optional[float] = None,
        on_stdout: OutputCallback = None,
        on_stderr: OutputCallback = None,
    ) -> ExecResult:
        """Runs a command in the sandbox and waits for it to exit.

        ``cmd`` is an argv list, or a string run by ``/bin/sh -c``. ``stdin`` (bytes, str or a
        binary file) is sent and then closed; ``timeout`` (seconds) kills the process, and the
        result says ``timed_out``. Output streams to ``on_stdout``/``on_stderr`` as it comes.
        A non-zero exit is a result, not an error: errors are raised only for failures to run.

        Example::

            result = box.exec("echo hi; exit 3")
            assert (result.exit_code, result.stdout) == (3, "hi\\n")
        """
        return self.processes.run(
            cmd,
            env=env,
            cwd=cwd,
            user=user,
            stdin=stdin,
            timeout=timeout,
            on_stdout=on_stdout,
            on_stderr=on_stderr,
        )
