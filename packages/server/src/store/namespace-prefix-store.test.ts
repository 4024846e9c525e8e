// NamespacePrefixStore is transparent: the whole contract passes through it, with every test sharing
// one SQLite store the way Kubernetes runs share a cluster.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { NamespacePrefixStore } from "./namespace-prefix-store.ts";
import type { ObjectStore } from "./object-store.ts";
import { SqliteStore } from "./sqlite-store.ts";
import { runStoreContract } from "./store-contract.ts";

let dir: string;
let shared: SqliteStore;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fsb-prefix-store-"));
  shared = new SqliteStore({ dir });
});
after(async () => {
  await shared.close();
  await rm(dir, { recursive: true, force: true });
});

runStoreContract("NamespacePrefixStore over a shared SqliteStore", async () => {
  // Closing one test's view must not close the store every test shares.
  const unclosable: ObjectStore = {
    create: (o) => shared.create(o),
    get: (k, ns, n) => shared.get(k, ns, n),
    list: (k, o) => shared.list(k, o),
    update: (o) => shared.update(o),
    updateStatus: (o) => shared.updateStatus(o),
    delete: (k, ns, n, o) => shared.delete(k, ns, n, o),
    watch: (k, o, s) => shared.watch(k, o, s),
    close: async () => {},
  };
  const store = new NamespacePrefixStore(unclosable, `t${randomBytes(4).toString("hex")}`, async () => {});
  return { store, cleanup: () => store.close() };
});
