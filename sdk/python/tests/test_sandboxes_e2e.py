"""fsb.sandboxes and the Sandbox handle against a real controller, agents and containerd."""

import os
import socket
import threading
import unittest
from unittest import mock

from fast_sandbox import (
    AlreadyExistsError,
    AuthError,
    CapacityError,
    FastSandbox,
    FastSandboxError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
)

from ._controller import client, connection

SLEEP = {"image": "busybox", "command": ["sleep", "600"]}
#: Stops at once on SIGTERM, so a reset does not wait out the grace period.
SERVE = {"image": "busybox", "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SandboxesTest(unittest.TestCase):
    fsb: FastSandbox

    @classmethod
    def setUpClass(cls):
        cls.fsb = client()

    def test_creates_gets_lists_updates_resets_and_deletes_through_a_handle(self):
        box = self.fsb.sandboxes.create(name="py-a", labels={"team": "a"}, exposed_ports=[18700], **SERVE)
        self.assertTrue(box.created)
        self.assertEqual(box.phase, "Running")
        # Its own address (network mode isolated, the default).
        self.assertRegex(",".join(box.endpoints), r"^10\.212\.\d+\.\d+:18700$")
        self.assertRegex(box.id, r"^py-a-[0-9a-f]{8}$")
        self.assertIsNotNone(box.details.created_at)

        again = self.fsb.sandboxes.create(name="py-a", labels={"team": "a"}, exposed_ports=[18700], **SERVE)
        self.assertFalse(again.created)
        self.assertEqual(again.id, box.id)

        self.assertEqual([s.name for s in self.fsb.sandboxes.list(label_selector="team=a")], ["py-a"])
        self.assertIn("py-a", [s.name for s in self.fsb.sandboxes.list(all_namespaces=True)])
        box.refresh()
        self.assertEqual(box.details.image, "docker.io/library/busybox:latest")

        updated = self.fsb.sandboxes.update(
            "py-a", labels={"tier": "web"}, failure_policy="AutoRecreate", expire_in=3600
        )
        self.assertEqual(updated.details.labels, {"team": "a", "tier": "web"})
        self.assertEqual(updated.details.failure_policy, "AutoRecreate")
        self.assertIsNotNone(updated.details.expire_time)
        self.assertIsNone(self.fsb.sandboxes.update("py-a", no_expire=True).details.expire_time)

        before = box.id
        self.fsb.sandboxes.reset("py-a")
        box.wait_until(lambda d: d.phase == "Running" and d.id != before, timeout=20)
        self.assertNotEqual(box.id, before)

        box.delete(grace_period_seconds=0, wait=True, timeout=20)
        with self.assertRaises(NotFoundError):
            self.fsb.sandboxes.get("py-a")

    def test_streams_logs_as_text_and_waits_for_a_phase_by_watching(self):
        box = self.fsb.sandboxes.create(
            name="py-logs", image="busybox", command=["sh", "-c", "echo one; sleep 0.3; echo two; exit 4"]
        )
        self.assertEqual("".join(box.logs(follow=True)), "one\ntwo\n")
        box.wait_until("Failed", timeout=10)
        self.assertEqual(box.details.exit_code, 4)
        self.assertEqual("".join(self.fsb.logs("py-logs", tail_lines=1)), "two\n")
        with self.assertRaises(FastSandboxError) as caught:
            box.wait_until("Expired", timeout=0.3)
        self.assertEqual(caught.exception.code, "deadline_exceeded")
        self.assertRegex(str(caught.exception), "did not reach Expired in time")
        box.delete(grace_period_seconds=0, wait=True, timeout=20)

    def test_watches_the_current_list_then_synced_then_changes(self):
        seen = []
        synced = threading.Event()

        def watch():
            for event in self.fsb.sandboxes.watch(timeout=30):
                seen.append(event.type if event.type == "synced" else f"{event.type}:{event.sandbox.name}")
                if event.type == "synced":
                    synced.set()
                if "deleted:py-w" in seen:
                    return

        watcher = threading.Thread(target=watch)
        watcher.start()
        self.assertTrue(synced.wait(10), seen)
        self.fsb.sandboxes.create(name="py-w", mode="strong", **SLEEP)
        self.fsb.sandboxes.delete("py-w", grace_period_seconds=0)
        watcher.join(30)
        self.assertFalse(watcher.is_alive())
        for want in ("added:py-w", "modified:py-w", "deleted:py-w"):
            self.assertIn(want, seen)

    def test_raises_typed_errors_that_keep_the_code_and_carry_a_hint(self):
        self.fsb.sandboxes.create(name="py-e", **SLEEP)
        with self.assertRaises(AlreadyExistsError):
            self.fsb.sandboxes.create(name="py-e", image="busybox", command=["sleep", "1"])
        with self.assertRaises(InvalidArgumentError) as caught:
            self.fsb.sandboxes.create(name="py-e2", image="busybox", exposed_ports=[0])
        self.assertEqual((caught.exception.field, caught.exception.code), ("exposedPorts[0]", "invalid_argument"))
        with self.assertRaises(AuthError) as caught:
            FastSandbox(endpoint=connection()[0], token="wrong").sandboxes.list()
        self.assertIn("FSB_TOKEN", caught.exception.hint)
        with self.assertRaises(NotFoundError):
            self.fsb.sandboxes.delete("py-never")
        # 2 agents x 2 slots, one taken: three more fit, the fourth does not.
        for n in (1, 2, 3):
            self.fsb.sandboxes.create(name=f"py-fill-{n}", **SLEEP)
        with self.assertRaises(CapacityError):
            self.fsb.sandboxes.create(name="py-over", **SLEEP)
        for name in ("py-e", "py-fill-1", "py-fill-2", "py-fill-3"):
            self.fsb.sandboxes.delete(name, grace_period_seconds=0, wait=True, timeout=20)

        nowhere = FastSandbox(endpoint=f"http://127.0.0.1:{free_port()}", token="t")
        with self.assertRaises(UnavailableError) as caught:
            nowhere.sandboxes.list()
        self.assertRegex(str(caught.exception), r"^cannot reach Fast Sandbox at 127\.0\.0\.1:\d+$")
        self.assertIn("npm start", caught.exception.hint)

    def test_finds_the_endpoint_and_token_in_the_environment_as_fsb_ctl_does(self):
        endpoint, token = connection()
        env = {"FSB_ENDPOINT": endpoint, "FSB_TOKEN": token, "FSB_NAMESPACE": "py-ns", "HOME": "/nonexistent"}
        with mock.patch.dict(os.environ, env):
            fsb = FastSandbox()
        self.assertEqual((fsb.endpoint, fsb.namespace), (endpoint, "py-ns"))
        self.assertEqual(fsb.sandboxes.list(), [])
        self.assertIn("version", fsb.server_version())


if __name__ == "__main__":
    unittest.main()
