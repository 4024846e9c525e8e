// deploy/uninstall.sh, offline: a fake kubectl first on PATH records each call (and the kinds of a
// file it is asked to delete) and renders with the real `kubectl kustomize`, so the order, the flags
// and where the uninstall stops are checked without a cluster.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { deployDir, TEST_TOKENS } from "./kustomize.ts";

const run = promisify(execFile);
const SCRIPT = path.join(deployDir, "uninstall.sh");

/**
 * A kubectl that logs `argv` (and, for `delete -f FILE`, the sorted kinds in FILE) one line per call.
 * FAKE_NO_CRDS: `get crd` finds nothing. FAKE_STUCK=<resource>: deleting it times out, and `get` lists
 * one object left.
 */
const FAKE_KUBECTL = `#!/bin/sh
log="$FAKE_LOG"
printf '%s\\n' "$*" >>"$log"
case "$1" in
  kustomize) exec "$REAL_KUBECTL" "$@" ;;
  get)
    if [ "$2" = crd ]; then
      [ -n "\${FAKE_NO_CRDS:-}" ] || echo "customresourcedefinition.apiextensions.k8s.io/$3"
    else
      echo "NAMESPACE NAME DELETING-SINCE FINALIZERS"
      echo "team-a web 2030-01-01T00:00:00Z [sandbox.fast.io/cleanup]"
    fi ;;
  delete)
    if [ "$2" = -f ]; then printf 'kinds: %s\\n' "$(awk '/^kind:/ { print $2 }' "$3" | sort -u | tr '\\n' ' ')" >>"$log"; fi
    if [ "$2" = "\${FAKE_STUCK:-}" ]; then
      echo "error: timed out waiting for the condition on $2/web" >&2
      exit 1
    fi ;;
esac
`;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** The kubectl calls, with temporary file paths replaced by their base names. */
  calls: string[];
}

describe("deploy/uninstall.sh (fake kubectl)", () => {
  let scratch: string;
  let deployCopy: string;
  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), "fsb-uninstall-"));
    deployCopy = path.join(scratch, "deploy");
    await cp(deployDir, deployCopy, { recursive: true });
    for (const [file, token] of Object.entries(TEST_TOKENS)) {
      await writeFile(path.join(deployCopy, "base/tokens", file), token);
    }
    await writeFile(path.join(scratch, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  async function uninstall(env: Record<string, string>, dir = deployCopy): Promise<Outcome> {
    const log = path.join(scratch, `calls-${Math.random().toString(16).slice(2)}.log`);
    await writeFile(log, "");
    const realKubectl = (await run("sh", ["-c", "command -v kubectl"])).stdout.trim();
    const result = await run("sh", [SCRIPT, dir], {
      env: {
        PATH: `${scratch}:${process.env.PATH}`,
        FAKE_LOG: log,
        REAL_KUBECTL: realKubectl,
        FSB_UNINSTALL_TIMEOUT: "7s",
        ...env,
      },
    }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    const calls = (await readFile(log, "utf8"))
      .trim()
      .split("\n")
      .map((line) =>
        line
          .replace(/\S*\/(crds|rest)\.yaml/g, "$1.yaml")
          .replace(dir, "DIR")
          .trimEnd(),
      );
    return { code: result.code, stdout: result.stdout, stderr: result.stderr, calls };
  }

  it("deletes Sandboxes, then SandboxPools, then the rest, then the CRDs, each waited for", async () => {
    const { code, calls, stderr } = await uninstall({});
    assert.equal(code, 0, stderr);
    const wait = "--ignore-not-found --wait=true --timeout=7s";
    const [restKinds, crdKinds] = calls.filter((c) => c.startsWith("kinds: "));
    assert.deepEqual(
      calls.filter((c) => !c.startsWith("kinds: ")),
      [
        "kustomize DIR",
        "get crd sandboxes.sandbox.fast.io -o name --ignore-not-found",
        `delete sandboxes.sandbox.fast.io --all --all-namespaces ${wait}`,
        "get crd sandboxpools.sandbox.fast.io -o name --ignore-not-found",
        `delete sandboxpools.sandbox.fast.io --all --all-namespaces ${wait}`,
        `delete -f rest.yaml ${wait}`,
        `delete -f crds.yaml ${wait}`,
      ],
    );
    // The rest is everything but the CRDs (default-pool included: already gone, so ignored).
    for (const kind of ["Namespace", "Deployment", "DaemonSet", "ClusterRole", "Secret", "SandboxPool"]) {
      assert.ok(restKinds?.split(" ").includes(kind), `${kind} in ${restKinds}`);
    }
    assert.doesNotMatch(restKinds ?? "", /CustomResourceDefinition/);
    assert.equal(crdKinds, "kinds: CustomResourceDefinition");
  });

  it("stops after a Sandbox that does not go, naming it, with nothing else deleted", async () => {
    const { code, calls, stderr } = await uninstall({ FAKE_STUCK: "sandboxes.sandbox.fast.io" });
    assert.equal(code, 1);
    assert.match(stderr, /still there after 7s/);
    assert.match(stderr, /team-a web .*sandbox\.fast\.io\/cleanup/);
    assert.match(stderr, /logs deploy\/fsb-controller/);
    assert.match(stderr, /nothing else was deleted/);
    assert.deepEqual(
      calls.filter((c) => c.startsWith("delete")),
      ["delete sandboxes.sandbox.fast.io --all --all-namespaces --ignore-not-found --wait=true --timeout=7s"],
    );
  });

  it("skips the custom objects when their CRDs are already gone, and still removes the rest", async () => {
    const { code, calls, stdout } = await uninstall({ FAKE_NO_CRDS: "1" });
    assert.equal(code, 0);
    assert.match(stdout, /no CRD sandboxes\.sandbox\.fast\.io/);
    assert.deepEqual(
      calls.filter((c) => c.startsWith("delete")).map((c) => c.split(" ").slice(0, 3).join(" ")),
      ["delete -f rest.yaml", "delete -f crds.yaml"],
    );
  });

  it("deletes nothing when the kustomization does not render", async () => {
    const broken = path.join(scratch, "broken");
    // Without its token files the secretGenerator fails, as after a checkout that never installed.
    await cp(deployDir, broken, { recursive: true });
    await rm(path.join(broken, "base/tokens/api-token"), { force: true });
    const { code, calls } = await uninstall({}, broken);
    assert.notEqual(code, 0);
    assert.deepEqual(calls, ["kustomize DIR"]);
  });
});
