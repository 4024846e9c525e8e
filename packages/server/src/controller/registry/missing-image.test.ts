// The message for an image no agent of the pool has names where the image is, or says it is nowhere.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageHolders, missingImageMessage } from "./missing-image.ts";

const IMAGE = "docker.io/library/nginx:latest";
const agent = (namespace: string, pool: string, nodeName: string, hasImage = true) => ({
  namespace,
  pool,
  nodeName,
  hasImage,
});

describe("imageHolders", () => {
  it("groups the agents that have the image by pool, with their nodes once each, sorted", () => {
    const holders = imageHolders([
      agent("default", "web", "n2"),
      agent("default", "web", "n1"),
      agent("default", "web", "n1"),
      agent("default", "plain", "n3", false),
      agent("alpha", "web", "n9"),
    ]);
    assert.deepEqual(holders, [
      { namespace: "alpha", pool: "web", nodes: ["n9"] },
      { namespace: "default", pool: "web", nodes: ["n1", "n2"] },
    ]);
  });
});

describe("missingImageMessage", () => {
  const cases: Array<{ name: string; holders: Parameters<typeof missingImageMessage>[3]; where: string }> = [
    { name: "nowhere", holders: [], where: "no agent of any pool has it" },
    {
      name: "one pool of this namespace, one node",
      holders: [{ namespace: "default", pool: "tools", nodes: ["n1"] }],
      where: 'it is on pool "tools" (node n1)',
    },
    {
      name: "a pool of another namespace, two nodes",
      holders: [{ namespace: "team-b", pool: "p", nodes: ["n1", "n2"] }],
      where: 'it is on pool "p" in namespace "team-b" (nodes n1, n2)',
    },
    {
      name: "many nodes: five named, the rest counted",
      holders: [{ namespace: "default", pool: "big", nodes: ["a", "b", "c", "d", "e", "f", "g"] }],
      where: 'it is on pool "big" (nodes a, b, c, d, e and 2 more nodes)',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(
        missingImageMessage(IMAGE, "default", "default-pool", c.holders),
        `image ${IMAGE} is not on any agent of pool "default-pool" in namespace "default"; ${c.where}; ` +
          "agents do not pull images, so load it into the containerd of this pool's nodes first",
      );
    });
  }
});
