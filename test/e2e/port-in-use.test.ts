// Every entry point, run on its own, answers a taken port with one line naming the port and the flag
// that sets it, and exit 2 (never a stack trace), before it starts anything.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

const bin = path.resolve(import.meta.dirname, "../../packages/server/src/bin");

describe("a port in use", { concurrency: true }, () => {
  const holder = net.createServer();
  let port = 0;
  let dataDir = "";
  before(async () => {
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    port = (holder.address() as net.AddressInfo).port;
    dataDir = await mkdtemp(path.join(os.tmpdir(), "fsb-port-"));
  });
  after(async () => {
    holder.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const cases: Array<{
    entry: string;
    flag: string;
    args: (taken: string) => string[];
    env: Record<string, string>;
  }> = [
    {
      entry: "fsb-controller",
      flag: "--api-bind-address",
      args: (taken) => [
        "--api-bind-address",
        taken,
        "--metrics-bind-address",
        "127.0.0.1:0",
        "--health-probe-bind-address",
        "127.0.0.1:0",
        "--data-dir",
        dataDir,
      ],
      env: { FSB_TOKEN: "t" },
    },
    {
      entry: "fsb-controller",
      flag: "--health-probe-bind-address",
      args: (taken) => [
        "--api-bind-address",
        "127.0.0.1:0",
        "--metrics-bind-address",
        "127.0.0.1:0",
        "--health-probe-bind-address",
        taken,
        "--data-dir",
        dataDir,
      ],
      env: { FSB_TOKEN: "t" },
    },
    {
      entry: "fsb-agent",
      flag: "--http-port",
      args: (taken) => ["--http-port", taken.split(":")[1]!, "--listen-address", "127.0.0.1"],
      env: { FSB_AGENT_TOKEN: "t" },
    },
    {
      entry: "fsb-janitor",
      flag: "--metrics-bind-address",
      args: (taken) => ["--controller-url", "http://127.0.0.1:1", "--metrics-bind-address", taken],
      env: { FSB_TOKEN: "t" },
    },
  ];
  for (const tc of cases) {
    it(`${tc.entry} ${tc.flag}`, async () => {
      const taken = `127.0.0.1:${port}`;
      const result = await promisify(execFile)(
        process.execPath,
        [path.join(bin, `${tc.entry}.ts`), ...tc.args(taken)],
        {
          env: { ...process.env, ...tc.env },
        },
      ).catch((err: { code: number; stdout: string; stderr: string }) => err);
      assert.equal("code" in result ? result.code : 0, 2, `${result.stdout}${result.stderr}`);
      assert.equal(
        result.stderr,
        `${tc.entry}: ${tc.flag}: ${taken} is already in use by another process; stop it or pass this flag another address\n`,
      );
      assert.equal(result.stdout, "");
      // Refused before the start: the controller did not even open its store.
      assert.deepEqual(await readdir(dataDir), []);
    });
  }
});
