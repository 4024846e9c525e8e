"""Exec on the wire, against a fake ProcessService that speaks Connect over real HTTP/1.1.

The fake answers as /work/notes contract §2 (proto/fastsandbox/v1/process.proto) says the server
does, and records each request, so these tests check what the client sends and how it reads the
stream: the real server's behaviour is checked by test_exec_e2e.py.
"""

import base64
import json
import struct
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fast_sandbox import FastSandbox, FastSandboxError, NotFoundError
from fast_sandbox.processes import STDIN_CHUNK_BYTES

SERVICE = "/fastsandbox.v1.ProcessService/"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FakeProcessService:
    """One process at a time: `cat` echoes its stdin to stdout; anything else prints its argv."""

    def __init__(self) -> None:
        self.requests = []
        self.stdin = []
        self.stdin_closed = threading.Event()
        self.end_error = None

    def unary(self, method, body):
        if method == "SendInput" and body["processId"] == "p1":
            self.stdin.append(base64.b64decode(body["data"]))
            return 200, {}
        if method == "CloseInput":
            self.stdin_closed.set()
            return 200, {}
        if method == "ListProcesses":
            return 200, {"processes": [
                {"processId": "p1", "pid": 7, "command": ["sleep", "9"], "tty": False,
                 "startedAt": "2024-01-02T03:04:05.5Z", "running": True},
                {"processId": "p0", "pid": 6, "command": ["true"], "startedAt": "2024-01-02T03:04:05Z"},
            ]}
        if method == "SignalProcess":
            return 200, {}
        return 404, {"code": "not_found", "message": f"process {body.get('processId')} not found"}

    def stream(self, method, body):
        yield {"started": {"processId": "p1", "pid": 42}}
        if method == "AttachProcess":
            yield {"dropped": "1048576"}
        if body.get("command") == ["cat"]:
            self.stdin_closed.wait(10)
            data = b"".join(self.stdin)
            for start in range(0, len(data), 1000):
                yield {"stdout": b64(data[start : start + 1000])}
        else:
            # A multi-byte character split across two messages must still decode.
            yield {"stdout": b64("héllo ".encode()[:2])}
            yield {"stdout": b64("héllo ".encode()[2:] + " ".join(body.get("command", [])).encode())}
            yield {"stderr": b64(b"warn\n")}
        if self.end_error:
            return
        yield {"exited": {"exitCode": 137, "signal": "SIGKILL", "timedOut": True}
               if body.get("timeoutMs") else {"exitCode": 3}}


def handler_for(fake: FakeProcessService):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            method = self.path[len(SERVICE):]
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            streaming = self.headers["Content-Type"] == "application/connect+json"
            body = json.loads(raw[5:] if streaming else raw)
            fake.requests.append((method, body, self.headers.get("Authorization")))
            if not streaming:
                status, answer = fake.unary(method, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/connect+json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for message in fake.stream(method, body):
                self.chunk(0, message)
            self.chunk(2, {"error": fake.end_error} if fake.end_error else {})
            self.wfile.write(b"0\r\n\r\n")

        def chunk(self, flags, message):
            payload = json.dumps(message).encode()
            frame = struct.pack(">BI", flags, len(payload)) + payload
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()

    return Handler


class ExecWireTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeProcessService()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self.fake))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        fsb = FastSandbox(endpoint=f"http://127.0.0.1:{self.server.server_port}", token="tk", namespace="ns")
        from fast_sandbox.sandbox import Sandbox
        from fast_sandbox.sandbox_info import to_details

        self.box = Sandbox(to_details({"name": "box", "namespace": "ns", "phase": "Running"}), fsb.sandboxes)

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_sends_the_request_of_the_contract_and_collects_output_and_exit(self):
        out = []
        result = self.box.exec(["echo", "a b"], env={"A": "1"}, cwd="/tmp", user="1000", on_stdout=out.append)
        method, body, auth = self.fake.requests[0]
        self.assertEqual((method, auth), ("Exec", "Bearer tk"))
        self.assertEqual(body, {"name": "box", "namespace": "ns", "command": ["echo", "a b"], "env": {"A": "1"},
                                "cwd": "/tmp", "user": "1000"})
        self.assertEqual((result.exit_code, result.signal, result.timed_out), (3, "", False))
        self.assertEqual((result.process_id, result.pid), ("p1", 42))
        self.assertEqual((result.stdout, result.stderr), ("héllo echo a b", "warn\n"))
        self.assertEqual("".join(out), "héllo echo a b")
        self.assertNotIn("\ufffd", "".join(out), "a character split across messages decodes whole")

    def test_a_string_runs_through_sh_and_a_timeout_is_sent_in_milliseconds(self):
        result = self.box.exec("exit 3", timeout=1.5)
        self.assertEqual(self.fake.requests[0][1]["command"], ["/bin/sh", "-c", "exit 3"])
        self.assertEqual(self.fake.requests[0][1]["timeoutMs"], 1500)
        self.assertEqual((result.exit_code, result.signal, result.timed_out), (137, "SIGKILL", True))

    def test_stdin_goes_in_pieces_and_is_closed(self):
        data = bytes(range(256)) * (STDIN_CHUNK_BYTES // 100)
        result = self.box.exec(["cat"], stdin=data)
        self.assertTrue(self.fake.requests[0][1]["stdin"])
        self.assertGreater(len(self.fake.stdin), 1)
        self.assertTrue(all(len(piece) <= STDIN_CHUNK_BYTES for piece in self.fake.stdin))
        self.assertEqual(result.stdout_bytes, data)

    def test_an_error_at_the_end_of_the_stream_is_raised_typed(self):
        self.fake.end_error = {"code": "unavailable", "message": "sandbox box was deleted"}
        with self.assertRaises(FastSandboxError) as caught:
            self.box.exec(["true"])
        self.assertEqual((caught.exception.code, str(caught.exception)), ("unavailable", "sandbox box was deleted"))

    def test_lists_kills_and_attaches(self):
        listed = self.box.processes.list()
        self.assertEqual([(p.process_id, p.running, p.exit_code) for p in listed], [("p1", True, None), ("p0", False, 0)])
        self.assertEqual(listed[0].started_at.microsecond, 500000)
        self.box.processes.kill("p1")
        self.assertEqual(self.fake.requests[-1][:2], ("SignalProcess", {"name": "box", "namespace": "ns", "processId": "p1", "signal": "SIGKILL"}))
        attached = self.box.processes.attach("p1")
        self.assertEqual(self.fake.requests[-1][:2], ("AttachProcess", {"name": "box", "namespace": "ns", "processId": "p1"}))
        self.assertEqual((attached.dropped, attached.exit_code), (1048576, 3))
        with self.assertRaises(NotFoundError):
            self.box.processes.send_input("nope", b"x")


if __name__ == "__main__":
    unittest.main()
