// ImageCatalog: the image list the status reports, read from the real test containerd; a failed read keeps the last one.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { TEST_IMAGE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { ContainerdConnection } from "../containerd/connection.ts";
import { ImageResolver } from "../containerd/image-resolver.ts";
import { ImageCatalog } from "./image-catalog.ts";
import { StatusRevision } from "./status-revision.ts";

const silent = pino({ level: "silent" });

describe("ImageCatalog", () => {
  let conn: ContainerdConnection;
  before(async () => {
    conn = await testConnection();
  });
  after(() => conn.close());

  it("reads the node's images, and moves the revision only when the list changes", async () => {
    const revision = new StatusRevision();
    const catalog = new ImageCatalog({ images: new ImageResolver(conn), logger: silent, revision });
    assert.equal(catalog.names.length, 0);
    await catalog.refresh();
    assert.ok(catalog.names.includes(TEST_IMAGE));
    const afterFirst = revision.value;
    assert.ok(afterFirst > 1);
    await catalog.refresh();
    assert.equal(revision.value, afterFirst);
  });

  it("reports an image a create found at once, sorted in, once", () => {
    const revision = new StatusRevision();
    const catalog = new ImageCatalog({ images: new ImageResolver(conn), logger: silent, revision });
    catalog.noteImage("docker.io/library/zzz:1");
    catalog.noteImage("docker.io/library/aaa:1");
    const value = revision.value;
    catalog.noteImage("docker.io/library/aaa:1");
    assert.deepEqual(catalog.names, ["docker.io/library/aaa:1", "docker.io/library/zzz:1"]);
    assert.equal(revision.value, value);
  });

  it("keeps the last list when containerd cannot be read, and never throws", async () => {
    const gone = new ContainerdConnection({ socketPath: "/nonexistent/containerd.sock", namespace: "x" });
    try {
      const catalog = new ImageCatalog({
        images: new ImageResolver(gone),
        logger: silent,
        revision: new StatusRevision(),
      });
      catalog.noteImage(TEST_IMAGE);
      await catalog.refresh();
      assert.deepEqual(catalog.names, [TEST_IMAGE]);
    } finally {
      gone.close();
    }
  });
});
