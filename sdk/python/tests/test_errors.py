"""Wire errors become typed errors with hints; the field comes from the BadRequest detail (no server)."""

import unittest

from fast_sandbox._connect import WireError
from fast_sandbox.errors import (
    AlreadyExistsError,
    AuthError,
    CapacityError,
    FastSandboxError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
    field_violation,
    to_sdk_error,
)

ENDPOINT = "http://127.0.0.1:9090"


def _len(data: bytes) -> bytes:
    return bytes([len(data)])  # one-byte varint: every test message here is short


def bad_request(field: str, description: str) -> bytes:
    """A google.rpc.BadRequest with one FieldViolation, encoded by hand."""
    violation = b"\x0a" + _len(field.encode()) + field.encode() + b"\x12" + _len(description.encode()) + description.encode()
    return b"\x0a" + _len(violation) + violation


class ToSdkErrorTest(unittest.TestCase):
    def test_each_code_has_its_class_and_hint(self):
        cases = [
            ("not_found", NotFoundError, "fsb-ctl list -A"),
            ("already_exists", AlreadyExistsError, "use another name"),
            ("resource_exhausted", CapacityError, "poolMax"),
            ("unauthenticated", AuthError, "FSB_TOKEN"),
            ("permission_denied", AuthError, "FSB_TOKEN"),
            ("invalid_argument", InvalidArgumentError, "fix the request"),
            ("unavailable", UnavailableError, "retry in a moment"),
            ("deadline_exceeded", FastSandboxError, "raise the timeout"),
        ]
        for code, cls, hint in cases:
            with self.subTest(code):
                err = to_sdk_error(WireError(code, "boom"), ENDPOINT)
                self.assertIs(type(err), cls)
                self.assertEqual((err.code, err.raw_message, str(err)), (code, "boom", "boom"))
                self.assertIn(hint, err.hint)

    def test_a_pool_call_names_the_pool_command(self):
        err = to_sdk_error(WireError("not_found", "no pool"), ENDPOINT, "pool")
        self.assertIn("fsb-ctl pools list -A", err.hint)

    def test_the_field_travels_as_data_and_prefixes_the_message(self):
        detail = ("google.rpc.BadRequest", bad_request("exposedPorts[1]", "duplicate port"))
        err = to_sdk_error(WireError("invalid_argument", "exposedPorts[1]: duplicate port", [detail]), ENDPOINT)
        self.assertEqual((err.field, err.raw_message, str(err)), ("exposedPorts[1]", "duplicate port", "exposedPorts[1]: duplicate port"))

    def test_a_precondition_gets_the_hint_of_its_field(self):
        for field, hint in (("image", "agents do not pull"), ("poolRef", "pools serve only"), ("exposedPorts[0]", "stop what listens")):
            with self.subTest(field):
                err = to_sdk_error(WireError("failed_precondition", "x", [("google.rpc.BadRequest", bad_request(field, "x"))]), ENDPOINT)
                self.assertIn(hint, err.hint)
        self.assertIsNone(to_sdk_error(WireError("failed_precondition", "x"), ENDPOINT).hint)

    def test_a_server_out_of_reach_is_named_by_its_host(self):
        err = to_sdk_error(WireError("unavailable", "refused", connection_failure=True), ENDPOINT)
        self.assertIsInstance(err, UnavailableError)
        self.assertEqual(str(err), "cannot reach Fast Sandbox at 127.0.0.1:9090")
        self.assertIn("npm start", err.hint)


class FieldViolationTest(unittest.TestCase):
    def test_reads_the_first_named_field_and_skips_other_details_and_fields(self):
        unnamed = b"\x0a\x03\x12\x01x"  # a violation with only a description
        extra = b"\x10\x05\x1d\x00\x00\x00\x00"  # a varint field and a fixed32 field, both unknown
        details = [("other.Type", b"junk"), ("google.rpc.BadRequest", unnamed + extra + bad_request("f", "d"))]
        self.assertEqual(field_violation(details), ("f", "d"))

    def test_stops_at_malformed_input(self):
        for data in (b"\x0a\xff", b"\x0a\x05ab", b"\x0f", b"\xff"):
            with self.subTest(data=data):
                self.assertIsNone(field_violation([("google.rpc.BadRequest", data)]))


if __name__ == "__main__":
    unittest.main()


class FileErrorsTest(unittest.TestCase):
    def test_permission_denied_of_a_file_is_the_sandbox_refusing_not_a_token_problem(self):
        err = to_sdk_error(WireError("permission_denied", "mkdir /proc/sys/x: read-only file system"), ENDPOINT, "file")
        self.assertNotIsInstance(err, AuthError)
        self.assertEqual(err.code, "permission_denied")
        self.assertIn("read-only file system", err.hint)
        self.assertIn("check the path", to_sdk_error(WireError("not_found", "x"), ENDPOINT, "file").hint)

    def test_a_plain_route_error_keeps_its_code_and_field(self):
        from fast_sandbox._connect import _plain_error

        body = b'{"success":false,"error":{"code":"INVALID_ARGUMENT","message":"\\"x\\" is not an absolute path","field":"path"}}'
        err = to_sdk_error(_plain_error(400, body), ENDPOINT, "file")
        self.assertIsInstance(err, InvalidArgumentError)
        self.assertEqual((err.field, err.raw_message), ("path", '"x" is not an absolute path'))
        self.assertEqual(str(err), 'path: "x" is not an absolute path')
        self.assertEqual(to_sdk_error(_plain_error(502, b"<html>"), ENDPOINT, "file").code, "unavailable")
