"""Processes in a sandbox (ProcessService): run one and wait for its exit, list, signal, attach."""

from __future__ import annotations

import codecs
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Dict, Iterator, List, Optional, Sequence, Union

from ._connect import decode_bytes, encode_bytes
from ._wire import int64, parse_time
from .errors import FastSandboxError

if TYPE_CHECKING:
    from ._calls import Calls

SERVICE = "fastsandbox.v1.ProcessService"
#: Stdin goes to the process in pieces of this size, so a large input is never one request.
STDIN_CHUNK_BYTES = 64 * 1024
#: How much longer than an exec's own timeout the client waits for the server to report the kill.
TIMEOUT_GRACE_SECONDS = 30.0

OutputCallback = Optional[Callable[[str], Any]]
StdinSource = Union[None, bytes, str, BinaryIO]


@dataclass
class ExecResult:
    """How a process ended and what it wrote. A non-zero ``exit_code`` is not an error."""

    exit_code: int
    stdout: str
    stderr: str
    #: The signal that ended it (``SIGKILL``), or "" for a normal exit.
    signal: str = ""
    #: True when the exec's ``timeout`` killed it.
    timed_out: bool = False
    process_id: str = ""
    pid: int = 0
    #: The output as bytes, for output that is not text.
    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""
    #: Bytes of output the server dropped while nobody read (only after an attach).
    dropped: int = 0


@dataclass
class ProcessInfo:
    """One process of a sandbox, running or exited a short while ago."""

    process_id: str
    pid: int
    command: List[str]
    tty: bool
    started_at: Optional[datetime]
    running: bool
    exit_code: Optional[int]
    signal: str = ""


@dataclass
class _Output:
    """Collects one stream's bytes and hands its text, decoded as it comes, to a callback."""

    callback: OutputCallback
    chunks: List[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def add(self, data: bytes) -> None:
        self.chunks.append(data)
        text = self._decoder.decode(data)
        if text and self.callback:
            self.callback(text)

    def finish(self) -> bytes:
        text = self._decoder.decode(b"", final=True)
        if text and self.callback:
            self.callback(text)
        return b"".join(self.chunks)


class Processes:
    """The processes of one sandbox, reached as ``sandbox.processes``.

    Example::

        for p in box.processes.list():
            if p.running:
                box.processes.kill(p.process_id)
    """

    def __init__(self, calls: "Calls", name: str, namespace: str) -> None:
        self._calls = calls
        self._target = {"name": name, "namespace": namespace}

    def run(
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
        """What ``Sandbox.exec`` does (see there)."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        request: Dict[str, Any] = {**self._target, "command": argv, "env": dict(env or {})}
        if cwd:
            request["cwd"] = cwd
        if user:
            request["user"] = user
        if stdin is not None:
            request["stdin"] = True
        if timeout is not None:
            request["timeoutMs"] = max(1, int(timeout * 1000))
        bound = None if timeout is None else timeout + TIMEOUT_GRACE_SECONDS
        events = self._calls.stream(f"{SERVICE}/Exec", request, bound)
        return self._follow(events, on_stdout, on_stderr, stdin)

    def attach(
        self, process_id: str, on_stdout: OutputCallback = None, on_stderr: OutputCallback = None
    ) -> ExecResult:
        """Reattaches to a process (after a disconnect, or from another client): its output kept
        since the last reader, then live output, until it exits. ``dropped`` counts what the
        server's bounded buffer let go."""
        events = self._calls.stream(f"{SERVICE}/AttachProcess", {**self._target, "processId": process_id})
        return self._follow(events, on_stdout, on_stderr, None)

    def list(self, timeout: Optional[float] = None) -> List[ProcessInfo]:
        """The sandbox's processes, running and recently exited."""
        response = self._calls.unary(f"{SERVICE}/ListProcesses", dict(self._target), timeout)
        return [
            ProcessInfo(
                process_id=p.get("processId", ""),
                pid=p.get("pid", 0),
                command=list(p.get("command", [])),
                tty=bool(p.get("tty", False)),
                started_at=parse_time(p.get("startedAt")),
                running=bool(p.get("running", False)),
                exit_code=p.get("exitCode", None if p.get("running") else 0),
                signal=p.get("signal", ""),
            )
            for p in response.get("processes", [])
        ]

    def kill(self, process_id: str, signal: str = "SIGKILL", timeout: Optional[float] = None) -> None:
        """Sends a signal (``SIGTERM``, ``SIGKILL``, ``SIGINT``, ...) to a process."""
        request = {**self._target, "processId": process_id, "signal": signal}
        self._calls.unary(f"{SERVICE}/SignalProcess", request, timeout)

    def send_input(self, process_id: str, data: Union[bytes, str], timeout: Optional[float] = None) -> None:
        """Writes to the stdin of a process started with ``stdin``."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        request = {**self._target, "processId": process_id, "data": encode_bytes(raw)}
        self._calls.unary(f"{SERVICE}/SendInput", request, timeout)

    def close_input(self, process_id: str, timeout: Optional[float] = None) -> None:
        """Closes a process's stdin (it then reads end of file)."""
        self._calls.unary(f"{SERVICE}/CloseInput", {**self._target, "processId": process_id}, timeout)

    def _follow(
        self,
        events: Iterator[Dict[str, Any]],
        on_stdout: OutputCallback,
        on_stderr: OutputCallback,
        stdin: StdinSource,
    ) -> ExecResult:
        """Reads an exec stream to its exit, feeding stdin from a thread once the process started."""
        stdout, stderr = _Output(on_stdout), _Output(on_stderr)
        result = ExecResult(exit_code=-1, stdout="", stderr="")
        feeder: Optional[_StdinFeeder] = None
        exited = False
        try:
            for event in events:
                if "started" in event:
                    result.process_id = event["started"].get("processId", "")
                    result.pid = event["started"].get("pid", 0)
                    if stdin is not None and feeder is None:
                        feeder = _StdinFeeder(self, result.process_id, stdin)
                elif "stdout" in event:
                    stdout.add(decode_bytes(event["stdout"]))
                elif "stderr" in event:
                    stderr.add(decode_bytes(event["stderr"]))
                elif "dropped" in event:
                    result.dropped += int64(event["dropped"])
                elif "exited" in event:
                    exit_info = event["exited"]
                    result.exit_code = exit_info.get("exitCode", 0)
                    result.signal = exit_info.get("signal", "")
                    result.timed_out = bool(exit_info.get("timedOut", False))
                    exited = True
        finally:
            # Stop reading now (a callback that raised leaves the process running, to reattach).
            close = getattr(events, "close", None)
            if close:
                close()
            if feeder is not None:
                feeder.join()
        if feeder is not None and feeder.error is not None:
            raise feeder.error
        if not exited:
            raise FastSandboxError("the process stream ended without the process's exit", "unavailable")
        result.stdout_bytes, result.stderr_bytes = stdout.finish(), stderr.finish()
        result.stdout = result.stdout_bytes.decode("utf-8", "replace")
        result.stderr = result.stderr_bytes.decode("utf-8", "replace")
        return result


class _StdinFeeder:
    """Sends stdin in pieces beside the output stream, then closes it; reading output meanwhile
    keeps a process that writes while it reads from blocking on a full pipe."""

    def __init__(self, processes: Processes, process_id: str, source: StdinSource) -> None:
        self.error: Optional[BaseException] = None
        self._processes = processes
        self._process_id = process_id
        self._source = source
        self._thread = threading.Thread(target=self._run, name=f"fsb-stdin-{process_id}", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        try:
            for piece in _pieces(self._source):
                self._processes.send_input(self._process_id, piece)
            self._processes.close_input(self._process_id)
        except FastSandboxError as err:
            # A process that exits without reading all its input is not a failure of the exec.
            if err.code != "failed_precondition":
                self.error = err
        except BaseException as err:  # a stdin file that cannot be read
            self.error = err


def _pieces(source: StdinSource) -> Iterator[bytes]:
    if isinstance(source, str):
        source = source.encode("utf-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for start in range(0, len(data), STDIN_CHUNK_BYTES):
            yield data[start : start + STDIN_CHUNK_BYTES]
        return
    while True:
        piece = source.read(STDIN_CHUNK_BYTES)
        if not piece:
            return
        yield piece.encode("utf-8") if isinstance(piece, str) else piece
