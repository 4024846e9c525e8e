"""The Connect protocol's JSON encoding over HTTP/1.1: unary calls and server streams, stdlib only.

A unary call is a POST of a JSON body that answers 200 with the JSON response, or another
status with a JSON error ``{"code", "message", "details"}``. A server stream posts one enveloped
request (``application/connect+json``) and reads enveloped messages back: 1 flag byte, a 4-byte
big-endian length, then JSON; the last one has the end-stream flag and carries the error, if any.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union
from urllib.parse import urlsplit

PROTOCOL_VERSION = "1"
USER_AGENT = "fast-sandbox-python/0.1.0"
#: Envelope flags (Connect protocol): a compressed payload, and the end-of-stream message.
FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02
ENVELOPE_HEADER = struct.Struct(">BI")
#: A message larger than this is refused rather than held in memory (the server's own limit is lower).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

#: The detail type the server names a request field with.
BAD_REQUEST_TYPE = "google.rpc.BadRequest"

#: The HTTP status of an answer that carries no Connect error, as the Connect protocol maps it.
_HTTP_STATUS_CODES = {
    400: "internal",
    401: "unauthenticated",
    403: "permission_denied",
    404: "unimplemented",
    429: "unavailable",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}

#: How the Connect protocol spells ``cancelled``; the SDK uses gRPC's spelling, as the TS SDK does.
_CODE_SPELLINGS = {"canceled": "cancelled"}


@dataclass(eq=False)
class WireError(Exception):
    """A call's failure as the wire tells it: a Connect code and message, and the error details."""

    code: str
    message: str
    #: ``(type name, binary protobuf value)`` of each detail, such as google.rpc.BadRequest.
    details: List[Tuple[str, bytes]] = field(default_factory=list)
    #: True when the server could not be reached at all (refused, unknown host, reset).
    connection_failure: bool = False

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


def encode_envelope(message: Dict[str, Any], flags: int = 0) -> bytes:
    """One enveloped JSON message."""
    payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return ENVELOPE_HEADER.pack(flags, len(payload)) + payload


def read_envelopes(read) -> Iterator[Dict[str, Any]]:
    """The messages of a stream read with ``read(n)``; raises the end-stream error, if any.

    A stream must end with an end-stream message: one that stops before it was cut off.
    """
    while True:
        header = _read_exact(read, ENVELOPE_HEADER.size)
        if header is None:
            raise WireError("unavailable", "the stream ended before its end-of-stream message")
        flags, length = ENVELOPE_HEADER.unpack(header)
        if length > MAX_MESSAGE_BYTES:
            raise WireError("resource_exhausted", f"a stream message of {length} bytes is over the limit")
        payload = _read_exact(read, length) if length else b""
        if payload is None:
            raise WireError("unavailable", "the stream ended in the middle of a message")
        if flags & FLAG_COMPRESSED:
            raise WireError("internal", "the server sent a compressed message, which was not asked for")
        body = _json(payload)
        if flags & FLAG_END_STREAM:
            error = body.get("error")
            if error is not None:
                raise error_from_json(error, "unknown")
            return
        yield body


def error_from_json(value: Any, fallback_code: str) -> WireError:
    """A Connect error body; anything else is an error of ``fallback_code``."""
    if not isinstance(value, dict):
        return WireError(fallback_code, f"unexpected error body: {value!r}")
    code = value.get("code") if isinstance(value.get("code"), str) else fallback_code
    code = _CODE_SPELLINGS.get(code, code)
    details = []
    for detail in value.get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("type"), str):
            details.append((detail["type"], decode_bytes(detail.get("value") or "")))
    return WireError(code, str(value.get("message") or ""), details)


def decode_bytes(text: str) -> bytes:
    """A proto3 JSON ``bytes`` value: standard or URL-safe base64, padded or not."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Transport:
    """Calls the methods of one endpoint (``http://host:port`` or ``https://...``) with a bearer token."""

    def __init__(self, endpoint: str, token: Optional[str]) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint must be an http:// or https:// URL, not {endpoint!r}")
        self.endpoint = endpoint
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token

    def unary(self, method: str, request: Dict[str, Any], timeout: Optional[float]) -> Dict[str, Any]:
        """Calls ``/package.Service/Method`` and returns its JSON answer."""
        headers = {"Content-Type": "application/json"}
        if timeout is not None:
            headers["Connect-Timeout-Ms"] = str(max(1, int(timeout * 1000)))
        body = json.dumps(request, separators=(",", ":")).encode("utf-8")
        conn = self._connect(timeout)
        try:
            response = self._send(conn, "POST", f"/{method}", body, headers, timeout)
            payload = _read_all(response, timeout)
            if response.status == 200:
                return _json(payload)
            raise _http_error(response.status, payload)
        finally:
            conn.close()

    def server_stream(
        self, method: str, request: Dict[str, Any], timeout: Optional[float] = None
    ) -> Iterator[Dict[str, Any]]:
        """The messages of a server stream. ``timeout`` bounds the whole stream; closing the
        iterator closes the connection."""
        deadline = None if timeout is None else time.monotonic() + timeout
        headers = {"Content-Type": "application/connect+json"}
        conn = self._connect(timeout)
        try:
            response = self._send(conn, "POST", f"/{method}", encode_envelope(request), headers, timeout)
            if response.status != 200 or not _is_stream(response):
                raise _http_error(response.status, _read_all(response, timeout))

            def read(n: int) -> bytes:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WireError("deadline_exceeded", f"the stream ran past its {timeout} s timeout")
                    if conn.sock is not None:
                        conn.sock.settimeout(remaining)
                try:
                    return response.read(n)
                except socket.timeout as err:
                    raise WireError("deadline_exceeded", f"the stream ran past its {timeout} s timeout") from err
                except (http.client.IncompleteRead, ConnectionError) as err:
                    raise WireError("unavailable", f"the stream broke: {err}") from err

            yield from read_envelopes(read)
        finally:
            conn.close()

    def get(self, path: str, timeout: Optional[float]) -> Tuple[int, bytes]:
        """A plain GET (such as ``/version``) with the same error handling as a call."""
        conn = self._connect(timeout)
        try:
            response = self._send(conn, "GET", path, None, {}, timeout)
            return response.status, _read_all(response, timeout)
        finally:
            conn.close()

    def transfer(
        self, verb: str, path: str, body: Union[None, bytes, Iterable[bytes]], timeout: Optional[float]
    ) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """A plain request whose body and answer stream (the ``/files/v1`` routes). An iterable body
        goes out chunked. Returns the open connection and a 200 answer for the caller to read and
        close; any other answer is raised as a WireError from the JSON error body."""
        conn = self._connect(timeout)
        try:
            try:
                response = self._send(conn, verb, path, body, {}, timeout)
            except WireError as err:
                # A server that refuses an upload answers before it read the body, and may close
                # the connection while the body is still going out: its answer is still there.
                response = _answer_after_broken_send(conn, err)
            if response.status != 200:
                raise _plain_error(response.status, _read_all(response, timeout))
            return conn, response
        except BaseException:
            conn.close()
            raise

    def _connect(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _send(self, conn, verb: str, path: str, body: Optional[bytes], headers: Dict[str, str], timeout):
        headers = {**headers, "User-Agent": USER_AGENT, "Connect-Protocol-Version": PROTOCOL_VERSION}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            conn.request(verb, self._prefix + path, body=body, headers=headers)
            return conn.getresponse()
        except socket.timeout as err:
            raise WireError("deadline_exceeded", f"no answer within {timeout} s") from err
        except (OSError, http.client.HTTPException) as err:
            raise WireError("unavailable", str(err), connection_failure=True) from err


def _read_exact(read, n: int) -> Optional[bytes]:
    """Exactly ``n`` bytes, or None at a clean end of stream before the first byte."""
    chunks = []
    got = 0
    while got < n:
        chunk = read(n - got)
        if not chunk:
            if got == 0:
                return None
            raise WireError("unavailable", "the stream ended in the middle of a message")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_all(response, timeout) -> bytes:
    try:
        return response.read()
    except socket.timeout as err:
        raise WireError("deadline_exceeded", f"no answer within {timeout} s") from err


def _answer_after_broken_send(conn: http.client.HTTPConnection, err: WireError) -> http.client.HTTPResponse:
    """The answer a server sent before it broke off a request that was still being sent."""
    if not isinstance(err.__cause__, (BrokenPipeError, ConnectionResetError)):
        raise err
    try:
        return conn.getresponse()
    except (OSError, http.client.HTTPException):
        raise err from None


def _plain_error(status: int, payload: bytes) -> WireError:
    """The JSON error of a plain route, ``{"error": {"code": "NOT_FOUND", "message", "field"}}``,
    with the field as a BadRequest detail, as an RPC carries it."""
    try:
        error = json.loads(payload.decode("utf-8"))["error"]
        code = str(error["code"]).lower()
        details = []
        if error.get("field"):
            details.append((BAD_REQUEST_TYPE, bad_request(str(error["field"]), str(error.get("message", "")))))
        return WireError(_CODE_SPELLINGS.get(code, code), str(error.get("message", "")), details)
    except (ValueError, KeyError, TypeError):
        return _http_error(status, payload)


def bad_request(field: str, description: str) -> bytes:
    """A google.rpc.BadRequest with one field violation, in its binary form."""

    def length_delimited(number: int, data: bytes) -> bytes:
        return _varint((number << 3) | 2) + _varint(len(data)) + data

    violation = length_delimited(1, field.encode("utf-8")) + length_delimited(2, description.encode("utf-8"))
    return length_delimited(1, violation)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _is_stream(response) -> bool:
    return (response.getheader("Content-Type") or "").startswith("application/connect+json")


def _http_error(status: int, payload: bytes) -> WireError:
    fallback = _HTTP_STATUS_CODES.get(status, "unknown")
    try:
        return error_from_json(json.loads(payload.decode("utf-8")), fallback)
    except ValueError:
        text = payload.decode("utf-8", "replace").strip()
        return WireError(fallback, f"HTTP {status}: {text}" if text else f"HTTP {status}")


def _json(payload: bytes) -> Dict[str, Any]:
    try:
        value = json.loads(payload.decode("utf-8"))
    except ValueError as err:
        raise WireError("internal", f"the server sent a message that is not JSON: {err}") from err
    if not isinstance(value, dict):
        raise WireError("internal", "the server sent a message that is not a JSON object")
    return value
