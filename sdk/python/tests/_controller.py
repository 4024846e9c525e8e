"""The controller the end-to-end modules run against: test/e2e/python-sdk.test.ts starts a real one
(with agents and containerd) and passes its address and token in FSB_TEST_ENDPOINT and FSB_TEST_TOKEN."""

import os
import time
import unittest

from fast_sandbox import FastSandbox


def connection():
    """``(endpoint, token)``; without them the module fails rather than skip."""
    endpoint, token = os.environ.get("FSB_TEST_ENDPOINT"), os.environ.get("FSB_TEST_TOKEN")
    if not endpoint or not token:
        raise AssertionError(
            "FSB_TEST_ENDPOINT and FSB_TEST_TOKEN are unset: run these tests through "
            "`npm run test:only -- test/e2e/python-sdk.test.ts`, which starts a controller"
        )
    return endpoint, token


def client(**options) -> FastSandbox:
    endpoint, token = connection()
    return FastSandbox(endpoint=endpoint, token=token, **options)


def eventually(probe, until, timeout=30.0, interval=0.1):
    """Calls ``probe`` until ``until(value)`` holds or ``timeout`` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class SandboxTestCase(unittest.TestCase):
    """Tests that share one running busybox sandbox, ``cls.box``, named ``SANDBOX``, deleted at the end."""

    SANDBOX = ""

    @classmethod
    def setUpClass(cls):
        cls.fsb = client()
        cls.box = cls.fsb.sandboxes.create(name=cls.SANDBOX, image="busybox", command=["sleep", "600"])

    @classmethod
    def tearDownClass(cls):
        cls.box.delete(grace_period_seconds=0, wait=True, timeout=20)
