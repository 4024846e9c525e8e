"""Sandbox.exec and sandbox.processes against a real controller, agents and containerd."""

import threading
import unittest

from fast_sandbox import FastSandboxError, NotFoundError

from ._controller import SandboxTestCase, eventually


class Disconnect(Exception):
    """Raised from an output callback: the client stops reading, as after a lost connection."""


class ExecTest(SandboxTestCase):
    SANDBOX = "py-exec"

    def test_reports_exit_codes_0_1_and_137_without_raising(self):
        for cmd, code, signal in (("true", 0, ""), ("exit 1", 1, ""), ("kill -9 $$", 137, "SIGKILL")):
            with self.subTest(cmd):
                result = self.box.exec(cmd)
                self.assertEqual((result.exit_code, result.signal), (code, signal))

    def test_keeps_stdout_and_stderr_apart_and_streams_them(self):
        out, err = [], []
        result = self.box.exec("echo out; echo err >&2", on_stdout=out.append, on_stderr=err.append)
        self.assertEqual((result.stdout, result.stderr), ("out\n", "err\n"))
        self.assertEqual(("".join(out), "".join(err)), ("out\n", "err\n"))

    def test_passes_env_cwd_and_user(self):
        result = self.box.exec(["sh", "-c", "echo $GREETING; pwd; id -u"], env={"GREETING": "hi"}, cwd="/tmp", user="65534")
        self.assertEqual(result.stdout, "hi\n/tmp\n65534\n")

    def test_echoes_stdin_binary_safe(self):
        data = bytes(range(256)) * 1024
        self.assertEqual(self.box.exec(["cat"], stdin=data).stdout_bytes, data)

    def test_the_timeout_kills_the_process(self):
        result = self.box.exec(["sleep", "30"], timeout=0.5)
        self.assertTrue(result.timed_out)
        self.assertEqual((result.exit_code, result.signal), (137, "SIGKILL"))

    def test_runs_two_processes_at_once(self):
        results = {}

        def run(name):
            results[name] = self.box.exec(f"sleep 0.5; echo {name}")

        threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        self.assertEqual({n: r.stdout for n, r in results.items()}, {"a": "a\n", "b": "b\n"})

    def test_reattaches_after_a_disconnect_and_kills(self):
        def stop(_text):
            raise Disconnect()

        with self.assertRaises(Disconnect):
            self.box.exec("echo first; sleep 1; echo second", on_stdout=stop)
        running = [p for p in self.box.processes.list() if p.running and "echo first; sleep 1; echo second" in p.command]
        self.assertEqual(len(running), 1)
        result = self.box.processes.attach(running[0].process_id)
        self.assertEqual((result.exit_code, result.stdout.endswith("second\n")), (0, True))

        sleeper = threading.Thread(target=lambda: self.box.exec(["sleep", "60"]))
        sleeper.start()
        found = eventually(
            lambda: [p for p in self.box.processes.list() if p.running and p.command == ["sleep", "60"]], bool, 10
        )
        self.box.processes.kill(found[0].process_id, "SIGTERM")
        sleeper.join(10)
        self.assertFalse(sleeper.is_alive())

    def test_a_command_not_in_the_image_and_an_unknown_sandbox_are_clear_errors(self):
        with self.assertRaises(FastSandboxError) as caught:
            self.box.exec(["no-such-binary"])
        self.assertEqual((caught.exception.code, caught.exception.field), ("failed_precondition", "command"))
        gone = self.fsb.sandboxes.create(name="py-exec-gone", image="busybox", command=["true"])
        gone.wait_until("Succeeded", timeout=10)
        with self.assertRaises(FastSandboxError) as caught:
            gone.exec(["true"])
        self.assertEqual(caught.exception.code, "failed_precondition")
        self.assertIn("Succeeded", str(caught.exception))
        gone.delete(grace_period_seconds=0, wait=True, timeout=20)
        with self.assertRaises(NotFoundError):
            gone.exec(["true"])


if __name__ == "__main__":
    unittest.main()
