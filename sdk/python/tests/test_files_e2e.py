"""sandbox.files against a real controller, agents and containerd: round trips, metadata operations,
streaming transfers, tar archives, and typed errors."""

import hashlib
import io
import os
import tarfile
import unittest

from fast_sandbox import AlreadyExistsError, FastSandboxError, InvalidArgumentError, NotFoundError

from ._controller import SandboxTestCase


class FilesTest(SandboxTestCase):
    SANDBOX = "py-files"

    def test_round_trips_every_byte_value(self):
        data = bytes(range(256)) * 64
        self.box.files.write("/py/bytes.bin", data, mode=0o600)
        self.assertEqual(self.box.files.read("/py/bytes.bin"), data)
        info = self.box.files.stat("/py/bytes.bin")
        self.assertEqual((info.type, info.size, info.mode, info.name), ("file", len(data), 0o600, "bytes.bin"))
        self.box.files.write("/py/text.txt", "héllo\n")
        self.assertEqual(self.box.files.read_text("/py/text.txt"), "héllo\n")

    def test_streams_a_large_file_up_and_down(self):
        piece = os.urandom(64 * 1024)
        sent = hashlib.sha256()

        def pieces():
            for _ in range(160):  # 10 MiB
                sent.update(piece)
                yield piece

        self.box.files.upload("/py/big/stream.bin", pieces(), mode=0o640)
        got = hashlib.sha256()
        size = 0
        for chunk in self.box.files.download("/py/big/stream.bin"):
            got.update(chunk)
            size += len(chunk)
        self.assertEqual((size, got.hexdigest()), (160 * 64 * 1024, sent.hexdigest()))
        self.assertEqual(self.box.files.stat("/py/big/stream.bin").mode, 0o640)
        # A file object source, and a download into a file object.
        self.box.files.upload("/py/big/from-file.bin", io.BytesIO(piece * 3))
        out = io.BytesIO()
        self.assertEqual(self.box.files.download("/py/big/from-file.bin", out), len(piece) * 3)
        self.assertEqual(out.getvalue(), piece * 3)

    def test_makes_lists_moves_and_removes(self):
        self.box.files.mkdir("/py-tree/a/b")
        self.box.files.write("/py-tree/a/b/deep.txt", "deep")
        self.box.files.write("/py-tree/top file.txt", "top")
        self.assertEqual([f.path for f in self.box.files.list("/py-tree")], ["/py-tree/a", "/py-tree/top file.txt"])
        listed = self.box.files.list("/py-tree", depth=3)
        self.assertEqual(
            [(f.path, f.type) for f in listed],
            [
                ("/py-tree/a", "directory"),
                ("/py-tree/a/b", "directory"),
                ("/py-tree/a/b/deep.txt", "file"),
                ("/py-tree/top file.txt", "file"),
            ],
        )
        self.assertFalse(listed.truncated)
        self.box.files.move("/py-tree/top file.txt", "/py-tree/a/moved.txt")
        self.assertEqual(self.box.files.read_text("/py-tree/a/moved.txt"), "top")
        with self.assertRaises(FastSandboxError) as caught:
            self.box.files.remove("/py-tree/a")
        self.assertEqual(caught.exception.code, "failed_precondition")
        self.assertIn("/py-tree/a", str(caught.exception))
        self.box.files.remove("/py-tree", recursive=True)
        with self.assertRaises(NotFoundError) as missing:
            self.box.files.stat("/py-tree")
        self.assertIn("check the path", missing.exception.hint)

    def test_moves_directories_as_tar_streams(self):
        packed = io.BytesIO()
        with tarfile.open(fileobj=packed, mode="w") as tar:
            for name, content in (("one.txt", b"1"), ("sub/two.txt", b"22")):
                entry = tarfile.TarInfo(name)
                entry.size = len(content)
                tar.addfile(entry, io.BytesIO(content))
        self.box.files.upload("/py-tar", packed.getvalue(), archive="tar")
        self.assertEqual(self.box.files.read_text("/py-tar/sub/two.txt"), "22")
        back = io.BytesIO()
        self.box.files.download("/py-tar", back, archive="tar")
        back.seek(0)
        with tarfile.open(fileobj=back) as tar:
            names = sorted(m.name.rstrip("/") for m in tar.getmembers())
        self.assertEqual(names, ["py-tar", "py-tar/one.txt", "py-tar/sub", "py-tar/sub/two.txt"])

    def test_errors_are_typed_and_name_the_field(self):
        with self.assertRaises(InvalidArgumentError) as relative:
            self.box.files.stat("etc/passwd")
        self.assertEqual(relative.exception.field, "path")
        with self.assertRaises(InvalidArgumentError) as relative_upload:
            self.box.files.upload("etc/x", b"x")
        self.assertEqual(relative_upload.exception.field, "path")
        with self.assertRaises(NotFoundError):
            self.box.files.download("/no/such/file", io.BytesIO())
        with self.assertRaises(AlreadyExistsError):
            self.box.files.mkdir("/etc", parents=False)
        with self.assertRaises(FastSandboxError) as read_only:
            self.box.files.mkdir("/sys/fsb")
        self.assertEqual(read_only.exception.code, "permission_denied")
        self.assertIn("read-only file system", read_only.exception.hint)
        # Refused while the body is still on its way: the answer arrives all the same.
        with self.assertRaises(FastSandboxError) as refused:
            self.box.files.upload("/sys/fsb-upload", (b"x" * 65536 for _ in range(128)))
        self.assertEqual(refused.exception.code, "permission_denied")
        with self.assertRaises(NotFoundError):
            self.fsb.sandboxes.get("py-files").files.read("/no/such")


if __name__ == "__main__":
    unittest.main()
