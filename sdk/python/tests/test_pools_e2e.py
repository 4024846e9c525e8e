"""fsb.pools against a real controller: apply, get, list, delete, and the pool API's typed errors."""

import unittest

from fast_sandbox import FastSandboxError, InvalidArgumentError, NotFoundError

from ._controller import client, eventually

#: A pool's agents are local processes: up in a second or two, well within this.
AGENT_UP_S = 30


class PoolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fsb = client()

    def test_applies_a_pool_reads_it_back_with_defaults_and_an_agent_lists_and_deletes_it(self):
        spec = {"capacity": {"poolMin": 1, "poolMax": 2}, "maxSandboxesPerPod": 2}
        first = self.fsb.pools.apply(
            {
                "apiVersion": "sandbox.fast.io/v1alpha1",
                "kind": "SandboxPool",
                "metadata": {"name": "py-pool", "labels": {"team": "a"}},
                "spec": spec,
            }
        )
        self.assertEqual(first.outcome, "created")
        self.assertEqual(
            first.pool.spec,
            {
                "capacity": {"poolMin": 1, "poolMax": 2, "bufferMin": 0, "bufferMax": 10},
                "maxSandboxesPerPod": 2,
                "runtimeType": "container",
                "prewarm": [],
                "network": {"mode": "isolated"},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        )
        self.assertEqual(first.pool.labels, {"team": "a"})
        self.assertIsNotNone(first.pool.created_at)
        self.assertGreaterEqual(first.pool.generation, 1)
        self.assertEqual(self.fsb.pools.apply({"name": "py-pool", "labels": {"team": "a"}, "spec": spec}).outcome, "unchanged")

        pool = eventually(lambda: self.fsb.pools.get("py-pool"), lambda p: p.ready_agents >= 1 and p.agents, AGENT_UP_S)
        self.assertEqual((pool.agents[0].healthy, pool.agents[0].capacity), (True, 2))
        self.assertIn("Ready", [c.type for c in pool.conditions])

        relabelled = self.fsb.pools.apply({"name": "py-pool", "labels": {"team": "b"}, "spec": spec})
        self.assertEqual((relabelled.outcome, relabelled.pool.labels), ("configured", {"team": "b"}))

        self.assertEqual(sorted(p.name for p in self.fsb.pools.list()), ["default-pool", "py-pool"])
        self.assertIn("py-pool", [p.name for p in self.fsb.pools.list(all_namespaces=True)])
        self.assertEqual(self.fsb.pools.list(namespace="elsewhere"), [])

        self.fsb.pools.delete("py-pool")

        def gone():
            try:
                self.fsb.pools.get("py-pool")
                return False
            except NotFoundError:
                return True

        self.assertTrue(eventually(gone, bool, AGENT_UP_S), "the deleted pool goes once its agents are stopped")

    def test_maps_the_pool_apis_errors_to_typed_errors_with_hints(self):
        with self.assertRaises(NotFoundError) as caught:
            self.fsb.pools.get("nope")
        self.assertIn("fsb-ctl pools list -A", caught.exception.hint)
        with self.assertRaises(InvalidArgumentError) as caught:
            self.fsb.pools.apply({"name": "inverted", "spec": {"capacity": {"poolMin": 3, "poolMax": 2}}})
        self.assertEqual(caught.exception.field, "spec.capacity.poolMin")
        with self.assertRaises(InvalidArgumentError):
            self.fsb.pools.apply({"name": "Not_A_Name"})
        with self.assertRaises(InvalidArgumentError) as caught:
            self.fsb.pools.apply({"kind": "Sandbox", "metadata": {"name": "x"}})
        self.assertEqual(caught.exception.field, "kind")

        box = self.fsb.sandboxes.create(name="py-busy", image="busybox", command=["sleep", "600"])
        with self.assertRaises(FastSandboxError) as caught:
            self.fsb.pools.delete("default-pool")
        self.assertEqual(caught.exception.code, "failed_precondition")
        self.assertIn("--force", caught.exception.hint)
        box.delete(grace_period_seconds=0, wait=True, timeout=20)


if __name__ == "__main__":
    unittest.main()
