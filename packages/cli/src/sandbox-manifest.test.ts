// The YAML `run -f` and the editor accept: the seed's declarative resource as is, and the flat template form.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runTemplate } from "./run-template.ts";
import { parseSandboxManifest } from "./sandbox-manifest.ts";

const SEED = `apiVersion: sandbox.fast.io/v1alpha1
kind: Sandbox
metadata:
  name: my-sandbox
  namespace: default
spec:
  image: alpine:latest
  exposedPorts: [8080]
  poolRef: default-pool
  consistencyMode: fast  # or strong
  failurePolicy: AutoRecreate
`;

describe("parseSandboxManifest", () => {
  it("takes the seed's README YAML as is", () => {
    assert.deepEqual(parseSandboxManifest(SEED, "f"), {
      name: "my-sandbox",
      namespace: "default",
      image: "alpine:latest",
      exposedPorts: [8080],
      pool: "default-pool",
      mode: "fast",
      failurePolicy: "AutoRecreate",
    });
  });

  it("reads the rest of a resource: env list, labels, expiry, resources; ignores status", () => {
    const manifest = parseSandboxManifest(
      `kind: Sandbox
metadata: {name: w, labels: {team: a}}
spec:
  image: busybox
  command: [sh, -c, "echo hi"]
  env: [{name: A, value: "1"}, {name: B}]
  workingDir: /tmp
  recoveryTimeoutSeconds: 90
  expireTime: "2030-01-01T00:00:00Z"
  resources: {cpu: 500m, memory: 64Mi, pids: 100}
  network: {mode: isolated, egress: {default: deny, allow: [198.51.100.0/24]}}
status: {phase: Running}
`,
      "f",
    );
    assert.deepEqual(manifest, {
      name: "w",
      labels: { team: "a" },
      image: "busybox",
      command: ["sh", "-c", "echo hi"],
      env: { A: "1", B: "" },
      workingDir: "/tmp",
      recoveryTimeoutSeconds: 90,
      expireAt: new Date("2030-01-01T00:00:00Z"),
      resources: { cpu: "500m", memory: "64Mi", pids: 100 },
      network: { mode: "isolated", egress: { default: "deny", allow: ["198.51.100.0/24"] } },
    });
  });

  it("reads the flat form with the flags' names", () => {
    assert.deepEqual(
      parseSandboxManifest(
        "image: busybox\nargs: [a]\nenv: {A: 1}\nports: [80, '8080']\nworkdir: /w\npool: p\nmode: Strong\nfailurePolicy: auto-recreate\nrecoveryTimeout: 2m\nexpireIn: 10m\nlabels: {x: y}\n",
        "f",
      ),
      {
        image: "busybox",
        args: ["a"],
        env: { A: "1" },
        exposedPorts: [80, 8080],
        workingDir: "/w",
        pool: "p",
        mode: "strong",
        failurePolicy: "AutoRecreate",
        recoveryTimeoutSeconds: 120,
        expireInMs: 600_000,
        labels: { x: "y" },
      },
    );
  });

  it("reads the editor template as it comes, and an emptied file as nothing", () => {
    assert.deepEqual(parseSandboxManifest(runTemplate("web", "default"), "t"), {
      image: "busybox",
      command: ["sh", "-c", "echo hello from web; sleep 3600"],
    });
    assert.equal(parseSandboxManifest("# all comments\n", "t"), undefined);
    assert.equal(parseSandboxManifest("", "t"), undefined);
  });

  const errors: Array<[string, string, RegExp]> = [
    ["no image", "command: [sleep, '1']\n", /^f: image is required$/],
    [
      "a typo, with the known fields",
      "image: busybox\nport: [80]\n",
      /^f: unknown field port \(known: name, namespace, image, .*\)$/,
    ],
    [
      "a typo inside spec",
      "kind: Sandbox\nspec: {image: b, exposedPort: [1]}\n",
      /^f: unknown field spec\.exposedPort /,
    ],
    [
      "a bad port, with its index",
      "image: b\nports: [80, 70000]\n",
      /^f: ports\[1\]: 70000 is not a port number \(1-65535\)$/,
    ],
    ["a command that is not a list", "image: b\ncommand: sleep 1\n", /^f: command must be a list, like/],
    [
      "a typo in the egress rules",
      "image: b\nnetwork: {egress: {alow: [10.0.0.0/8]}}\n",
      /^f: unknown field network\.egress\.alow /,
    ],
    [
      "an env entry without a name",
      "kind: Sandbox\nspec: {image: b, env: [{value: x}]}\n",
      /^f: spec\.env\[0\]\.name is required$/,
    ],
    [
      "another apiVersion",
      "apiVersion: v1\nkind: Sandbox\nspec: {image: b}\n",
      /^f: apiVersion must be sandbox\.fast\.io\/v1alpha1$/,
    ],
    ["another kind", "kind: Pod\nspec: {image: b}\n", /^f: kind must be Sandbox$/],
    ["a bad mode", "image: b\nmode: slow\n", /^f: mode: "slow" is not fast or strong$/],
    [
      "two expiries",
      "image: b\nexpireIn: 1h\nexpireAt: 2030-01-01T00:00:00Z\n",
      /^f: expireIn and expireAt cannot both be set$/,
    ],
    ["not a mapping", "- a\n", /^f: the document must be a mapping$/],
    ["broken YAML", "image: [\n", /^f is not valid YAML: /],
  ];
  for (const [what, text, message] of errors) {
    it(`names the problem: ${what}`, () => assert.throws(() => parseSandboxManifest(text, "f"), { message }));
  }
});
