"""Files in a sandbox (FileService for metadata and small files, the streaming ``/files/v1`` routes for
large ones). Every operation runs inside the sandbox, so paths and symlinks resolve as it sees them."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, Iterable, Iterator, List, Optional, Union
from urllib.parse import quote, urlencode

from ._connect import WireError, decode_bytes, encode_bytes
from ._wire import int64, parse_time

if TYPE_CHECKING:
    from ._calls import Calls

SERVICE = "fastsandbox.v1.FileService"
#: WriteFile carries at most this much; larger writes stream through ``upload``.
MAX_UNARY_WRITE_BYTES = 1024 * 1024
#: Uploads read a file source in pieces of this size, and downloads hand out pieces of at most this.
CHUNK_BYTES = 64 * 1024

_TYPES = {
    "FILE_TYPE_FILE": "file",
    "FILE_TYPE_DIRECTORY": "directory",
    "FILE_TYPE_SYMLINK": "symlink",
}

UploadSource = Union[bytes, str, BinaryIO, Iterable[bytes]]


@dataclass
class FileInfo:
    """A file in a sandbox; a symlink is reported as itself."""

    #: Absolute path inside the sandbox.
    path: str
    name: str
    #: ``file``, ``directory``, ``symlink`` or ``other``.
    type: str
    size: int
    #: Permission bits, such as ``0o644``.
    mode: int
    uid: int
    gid: int
    modified_at: Optional[datetime]


@dataclass
class FileList:
    """The entries of a ``list``, sorted by path; ``truncated`` when there were more than 10000."""

    files: List[FileInfo] = field(default_factory=list)
    truncated: bool = False

    def __iter__(self) -> Iterator[FileInfo]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


class Files:
    """The files of one sandbox, reached as ``sandbox.files``. Paths are absolute. Errors are
    typed: NotFoundError for a missing path, FastSandboxError with code ``failed_precondition``
    for a path of the wrong kind (a directory where a file is expected, a directory not empty).

    Example::

        box.files.write("/app/main.py", "print(6 * 7)\\n")
        print(box.files.read_text("/app/main.py"))
        for f in box.files.list("/app", depth=2):
            print(f.path, f.type, f.size)
        with open("big.bin", "rb") as src:
            box.files.upload("/data/big.bin", src)
        with open("copy.bin", "wb") as dst:
            box.files.download("/data/big.bin", dst)
    """

    def __init__(self, calls: "Calls", name: str, namespace: str) -> None:
        self._calls = calls
        self._name = name
        self._namespace = namespace
        self._target = {"name": name, "namespace": namespace}

    def stat(self, path: str, timeout: Optional[float] = None) -> FileInfo:
        """One file's metadata."""
        return _file_info(self._unary("Stat", {"path": path}, timeout))

    def list(self, path: str, depth: int = 1, timeout: Optional[float] = None) -> FileList:
        """The entries below a directory, ``depth`` levels deep (1 to 32)."""
        response = self._unary("List", {"path": path, "depth": depth}, timeout)
        return FileList(
            [_file_info(f) for f in response.get("files", [])], bool(response.get("truncated", False))
        )

    def mkdir(
        self, path: str, parents: bool = True, mode: Optional[int] = None, timeout: Optional[float] = None
    ) -> None:
        """Makes a directory, with its parents unless ``parents`` is False (then one that exists
        is an AlreadyExistsError)."""
        self._unary("MakeDir", {"path": path, "parents": parents, "mode": mode or 0}, timeout)

    def remove(self, path: str, recursive: bool = False, timeout: Optional[float] = None) -> None:
        """Removes a file, a symlink (never its target) or an empty directory; with ``recursive``,
        a directory and everything below it."""
        self._unary("Remove", {"path": path, "recursive": recursive}, timeout)

    def move(self, source: str, destination: str, timeout: Optional[float] = None) -> None:
        """Renames ``source`` to ``destination`` (replacing a file there)."""
        self._unary("Move", {"from": source, "to": destination}, timeout)

    def read(self, path: str, timeout: Optional[float] = None) -> bytes:
        """A whole file in memory; for large files use ``download``."""
        request = {**self._target, "path": path}
        chunks = self._calls.stream(f"{SERVICE}/ReadFile", request, timeout, resource="file")
        return b"".join(decode_bytes(c.get("data", "")) for c in chunks)

    def read_text(self, path: str, encoding: str = "utf-8", timeout: Optional[float] = None) -> str:
        """A whole file as text."""
        return self.read(path, timeout).decode(encoding)

    def write(
        self,
        path: str,
        content: Union[str, bytes],
        mode: Optional[int] = None,
        parents: bool = True,
        timeout: Optional[float] = None,
    ) -> None:
        """Writes a file whole (a reader never sees half of it): text as UTF-8, or bytes. ``mode``
        defaults to the replaced file's, or 0o644; ``parents`` makes missing directories."""
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if len(data) > MAX_UNARY_WRITE_BYTES:
            self.upload(path, data, mode=mode, parents=parents, timeout=timeout)
            return
        request = {"path": path, "content": encode_bytes(data), "mode": mode or 0, "parents": parents}
        self._unary("WriteFile", request, timeout)

    def upload(
        self,
        path: str,
        source: UploadSource,
        mode: Optional[int] = None,
        parents: bool = True,
        archive: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None:
        """Streams content of any size into a file: bytes, text, a binary file, or an iterable of
        bytes. With ``archive="tar"`` the content is a tar stream extracted into the directory
        ``path``. The file appears whole once the upload completed; a broken-off one leaves
        nothing. ``timeout`` bounds each wait on the network, not the whole transfer."""
        query: Dict[str, str] = {"path": path}
        if archive:
            query["archive"] = archive
        if mode is not None:
            query["mode"] = format(mode, "o")
        if parents:
            query["parents"] = "true"
        conn, response = self._transfer("PUT", query, _body(source), timeout)
        try:
            response.read()
        except (OSError, http.client.HTTPException) as err:
            raise self._calls.translate(_broken("upload", err), "file") from err
        finally:
            conn.close()

    def download(
        self,
        path: str,
        destination: Optional[BinaryIO] = None,
        archive: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Union[int, Iterator[bytes]]:
        """A file's bytes as they arrive (with ``archive="tar"``, a tar stream of the directory
        ``path``): written to ``destination`` and counted, or, without one, as an iterator of
        chunks, which holds a connection open until it is read to the end or closed (use
        ``contextlib.closing`` when you may stop early). A transfer cut off midway raises an
        ``unavailable`` FastSandboxError, never a short file; one that stalls for ``timeout``
        seconds raises ``deadline_exceeded``."""
        query = {"path": path, **({"archive": archive} if archive else {})}
        conn, response = self._transfer("GET", query, None, timeout)
        chunks = self._chunks(conn, response)
        if destination is None:
            return chunks
        total = 0
        for chunk in chunks:
            destination.write(chunk)
            total += len(chunk)
        return total

    def _unary(self, method: str, request: Dict[str, Any], timeout: Optional[float]) -> Dict[str, Any]:
        return self._calls.unary(f"{SERVICE}/{method}", {**self._target, **request}, timeout, resource="file")

    def _transfer(self, verb: str, query: Dict[str, str], body, timeout: Optional[float]):
        route = f"/files/v1/namespaces/{quote(self._namespace, safe='')}/sandboxes/{quote(self._name, safe='')}"
        try:
            return self._calls.transport.transfer(
                verb, f"{route}?{urlencode(query)}", body, self._calls.timeout if timeout is None else timeout
            )
        except WireError as err:
            raise self._calls.translate(err, "file") from err

    def _chunks(self, conn, response) -> Iterator[bytes]:
        """The answer's chunks. The server cuts a download that fails midway off before its last
        chunk, which http.client reports as IncompleteRead: never a short file read as whole."""
        try:
            while True:
                try:
                    chunk = response.read1(CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as err:
                    raise self._calls.translate(_broken("download", err), "file") from err
                if not chunk:
                    return
                yield chunk
        finally:
            conn.close()


def _broken(what: str, err: BaseException) -> WireError:
    """A transfer that failed after it began: a timeout, or a connection cut off (IncompleteRead)."""
    if isinstance(err, socket.timeout):
        return WireError("deadline_exceeded", f"the {what} stalled: no data within the timeout")
    return WireError("unavailable", f"the {what} broke off: {err}")


def _body(source: UploadSource) -> Union[bytes, Iterable[bytes]]:
    """What http.client sends: bytes with a length, anything else chunked as it is read."""
    if isinstance(source, str):
        return source.encode("utf-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    read = getattr(source, "read", None)
    if read is None:
        return source

    def pieces() -> Iterator[bytes]:
        while True:
            piece = read(CHUNK_BYTES)
            if not piece:
                return
            yield piece.encode("utf-8") if isinstance(piece, str) else piece

    return pieces()


def _file_info(raw: Dict[str, Any]) -> FileInfo:
    return FileInfo(
        path=raw.get("path", ""),
        name=raw.get("name", ""),
        type=_TYPES.get(raw.get("type", ""), "other"),
        size=int64(raw.get("size")),
        mode=int(raw.get("mode", 0)),
        uid=int(raw.get("uid", 0)),
        gid=int(raw.get("gid", 0)),
        modified_at=parse_time(raw.get("modifiedAt")),
    )
