"""Connect framing: envelopes, the end-of-stream message, errors and their details (no server)."""

import io
import json
import struct
import unittest

from fast_sandbox._connect import (
    FLAG_END_STREAM,
    WireError,
    _http_error,
    decode_bytes,
    encode_envelope,
    error_from_json,
    read_envelopes,
)
from fast_sandbox._wire import format_time, parse_time


def frame(flags: int, payload: bytes) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def end(body: dict) -> bytes:
    return frame(FLAG_END_STREAM, json.dumps(body).encode())


class TrickleReader:
    """Hands out at most `step` bytes per read, as a socket may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, n: int) -> bytes:
        return self._data.read(min(n, self._step))


class EnvelopeTest(unittest.TestCase):
    def test_encodes_one_flag_byte_a_big_endian_length_then_json(self):
        data = encode_envelope({"name": "a"})
        self.assertEqual(data[0], 0)
        self.assertEqual(struct.unpack(">I", data[1:5])[0], len(data) - 5)
        self.assertEqual(json.loads(data[5:]), {"name": "a"})

    def test_reads_messages_until_the_end_of_stream_message(self):
        stream = frame(0, b'{"a":1}') + frame(0, b'{"b":2}') + end({})
        for step in (1, 3, 1 << 16):
            with self.subTest(step=step):
                got = list(read_envelopes(TrickleReader(stream, step).read))
                self.assertEqual(got, [{"a": 1}, {"b": 2}])

    def test_an_error_in_the_end_of_stream_message_is_raised_after_the_messages(self):
        stream = frame(0, b'{"a":1}') + end({"error": {"code": "not_found", "message": "no such sandbox"}})
        got = []
        with self.assertRaises(WireError) as caught:
            for message in read_envelopes(io.BytesIO(stream).read):
                got.append(message)
        self.assertEqual(got, [{"a": 1}])
        self.assertEqual((caught.exception.code, caught.exception.message), ("not_found", "no such sandbox"))

    def test_a_stream_cut_off_is_an_error_not_a_clean_end(self):
        cases = {
            "no end message": frame(0, b'{"a":1}'),
            "inside a header": frame(0, b'{"a":1}')[:3],
            "inside a payload": frame(0, b'{"a":1}')[:-2],
        }
        for name, stream in cases.items():
            with self.subTest(name), self.assertRaises(WireError) as caught:
                list(read_envelopes(io.BytesIO(stream).read))
            self.assertEqual(caught.exception.code, "unavailable")

    def test_refuses_compressed_and_oversized_messages(self):
        with self.assertRaises(WireError):
            list(read_envelopes(io.BytesIO(frame(1, b"x")).read))
        with self.assertRaises(WireError) as caught:
            list(read_envelopes(io.BytesIO(struct.pack(">BI", 0, 1 << 30)).read))
        self.assertEqual(caught.exception.code, "resource_exhausted")


class ErrorBodyTest(unittest.TestCase):
    def test_keeps_details_as_binary_and_spells_cancelled_as_grpc_does(self):
        err = error_from_json(
            {"code": "canceled", "message": "m", "details": [{"type": "t.T", "value": "AQI"}]}, "unknown"
        )
        self.assertEqual(err.code, "cancelled")
        self.assertEqual(err.details, [("t.T", b"\x01\x02")])

    def test_an_answer_without_a_connect_error_takes_its_code_from_the_http_status(self):
        self.assertEqual(_http_error(401, b"").code, "unauthenticated")
        self.assertEqual(_http_error(503, b"<html>busy</html>").code, "unavailable")
        self.assertEqual(_http_error(418, b"teapot").message, "HTTP 418: teapot")
        self.assertEqual(_http_error(400, b'{"code":"invalid_argument","message":"x"}').code, "invalid_argument")

    def test_bytes_fields_take_standard_and_url_safe_base64_with_or_without_padding(self):
        for text in ("+/8=", "+/8", "-_8"):
            self.assertEqual(decode_bytes(text), b"\xfb\xff")


class TimestampTest(unittest.TestCase):
    def test_reads_nanoseconds_and_offsets_and_writes_utc(self):
        t = parse_time("2024-05-06T07:08:09.123456789Z")
        self.assertEqual((t.second, t.microsecond), (9, 123456))
        self.assertEqual(parse_time("2024-05-06T09:08:09+02:00"), parse_time("2024-05-06T07:08:09Z"))
        self.assertEqual(format_time(t), "2024-05-06T07:08:09.123456Z")
        self.assertIsNone(parse_time(None))
        with self.assertRaises(ValueError):
            parse_time("yesterday")


if __name__ == "__main__":
    unittest.main()
