// deploy/ renders with kubectl kustomize; every object is valid for the API server, and the pieces fit together.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { API_VERSION, type SandboxPool, validatePoolSpec, validateSandboxSpec } from "@fast-sandbox/api";
import type {
  V1Container,
  V1DaemonSet,
  V1Deployment,
  V1PolicyRule,
  V1Secret,
  V1Service,
} from "@kubernetes/client-node";
import { DEFAULT_HTTP_PORT } from "../../packages/server/src/agent/agent-config.ts";
import { parseControllerConfig } from "../../packages/server/src/controller/controller-config.ts";
import {
  AGENT_SERVICE_ACCOUNT,
  AGENT_TOKEN_KEY,
  buildAgentPod,
} from "../../packages/server/src/controller/pool/agent-pod.ts";
import { DEFAULT_LOG_DIR } from "../../packages/server/src/core/sandbox-log-dir.ts";
import {
  usage as janitorUsage,
  parseJanitorConfig,
} from "../../packages/server/src/janitor/janitor-config.ts";
import { builtinProblems, isBuiltin } from "./builtin-kinds.ts";
import { admit, type SchemaNode } from "./crd-rules.ts";
import {
  find,
  type KubeObject,
  kubectls,
  kustomize,
  parseYamlStream,
  repoRoot,
  TEST_TOKENS,
} from "./kustomize.ts";

const SYSTEM_NS = "fast-sandbox-system";
const IMAGE = "fast-sandbox:0.1.0";

/** The value of `--name=value` or `--name value` in an argument list. */
function flag(args: readonly string[] | undefined, name: string): string | undefined {
  const list = args ?? [];
  for (const [i, arg] of list.entries()) {
    if (arg === name) return list[i + 1];
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  }
  return undefined;
}

const containerOf = (workload: V1Deployment | V1DaemonSet, name: string): V1Container => {
  const container = workload.spec?.template.spec?.containers.find((c) => c.name === name);
  assert.ok(container, `no container ${name}`);
  return container;
};

/** Whether `rules` grant `verb` on `resource` of `group` (optionally for one object name). */
function allows(
  rules: V1PolicyRule[] | undefined,
  group: string,
  resource: string,
  verb: string,
  name?: string,
) {
  return (rules ?? []).some(
    (r) =>
      (r.apiGroups ?? []).some((g) => g === group || g === "*") &&
      (r.resources ?? []).some((x) => x === resource || x === "*") &&
      r.verbs.some((v) => v === verb || v === "*") &&
      (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))),
  );
}

/** Problems with the custom resources of a render, checked against the CRDs of the same render. */
function customResourceProblems(objects: KubeObject[]): string[] {
  const schemas = new Map<string, SchemaNode>();
  for (const crd of objects.filter((o) => o.kind === "CustomResourceDefinition")) {
    const spec = crd.spec as {
      group: string;
      names: { kind: string };
      versions: Array<{ name: string; schema: { openAPIV3Schema: SchemaNode } }>;
    };
    for (const v of spec.versions)
      schemas.set(`${spec.group}/${v.name} ${spec.names.kind}`, v.schema.openAPIV3Schema);
  }
  return objects.flatMap((o) => {
    if (isBuiltin(o)) return [];
    const schema = schemas.get(`${o.apiVersion} ${o.kind}`);
    if (!schema) return [`${o.apiVersion} ${o.kind} ${o.metadata.name}: no CRD in the render defines it`];
    const { object, problems } = admit(schema, o);
    const found = problems.map((p) => `${o.kind} ${o.metadata.name}: ${p.path} ${p.message}`);
    try {
      if (o.kind === "Sandbox") validateSandboxSpec(object.spec);
      if (o.kind === "SandboxPool") validatePoolSpec(object.spec);
    } catch (err) {
      found.push(`${o.kind} ${o.metadata.name}: the controller refuses it: ${String(err)}`);
    }
    return found;
  });
}

const renders = ["", "overlays/example"];

for (const kubectl of kubectls()) {
  for (const dir of renders) {
    describe(`${kubectl} kustomize deploy/${dir}`, async () => {
      const { objects, stderr } = await kustomize(dir, kubectl);

      it("renders, with no warning but the deprecations kept for kustomize v2.0.3", () => {
        assert.ok(objects.length > 10, `only ${objects.length} objects`);
        const unexpected = stderr
          .split("\n")
          .filter((line) => line.trim() !== "")
          .filter((line) => !/^# Warning: '(bases|patchesStrategicMerge)' is deprecated\./.test(line));
        assert.deepEqual(unexpected, []);
      });

      it("holds each object once", () => {
        const ids = objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
        assert.deepEqual(
          ids.filter((id, i) => ids.indexOf(id) !== i),
          [],
        );
      });

      it("has only objects the API server knows, each valid", () => {
        const problems = objects.flatMap((o) =>
          isBuiltin(o) ? builtinProblems(o).map((p) => `${o.kind} ${o.metadata.name}: ${p}`) : [],
        );
        assert.deepEqual(problems, []);
        assert.deepEqual(customResourceProblems(objects), []);
      });
    });
  }
}

describe("deploy/ (the base), as rendered", async () => {
  const { objects } = await kustomize("");
  const deployment = find<V1Deployment>(objects, "Deployment", "fsb-controller", SYSTEM_NS);
  const controller = containerOf(deployment, "controller");
  const janitorSet = find<V1DaemonSet>(objects, "DaemonSet", "fsb-janitor", SYSTEM_NS);
  const janitor = containerOf(janitorSet, "janitor");
  const defaultPool = find<SandboxPool>(objects, "SandboxPool", "default-pool", "default");

  it("puts every namespaced object in fast-sandbox-system, but default-pool's own objects in default", () => {
    const namespace = find(objects, "Namespace", SYSTEM_NS);
    // The janitor's hostPath volumes are refused below Pod Security's privileged level.
    assert.equal(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
    const elsewhere = objects
      .filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== SYSTEM_NS)
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();
    assert.deepEqual(elsewhere, [
      "SandboxPool/default-pool",
      "Secret/fast-sandbox-agent-token",
      `ServiceAccount/${AGENT_SERVICE_ACCOUNT}`,
    ]);
  });

  it("includes the committed CRDs unchanged", async () => {
    for (const file of ["sandbox.fast.io_sandboxes.yaml", "sandbox.fast.io_sandboxpools.yaml"]) {
      const [committed] = parseYamlStream(
        await readFile(path.join(repoRoot, "deploy/base/crds", file), "utf8"),
      );
      assert.deepEqual(find(objects, "CustomResourceDefinition", committed!.metadata.name), committed);
    }
  });

  it("makes the token Secrets from the token files: both tokens for the system, the agent token for the pool", () => {
    const decode = (secret: V1Secret) =>
      Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
      );
    assert.deepEqual(
      decode(find<V1Secret>(objects, "Secret", "fast-sandbox-tokens", SYSTEM_NS)),
      TEST_TOKENS,
    );
    assert.deepEqual(decode(find<V1Secret>(objects, "Secret", "fast-sandbox-agent-token", "default")), {
      [AGENT_TOKEN_KEY]: TEST_TOKENS["agent-token"],
    });
  });

  it("runs two controllers with leader election on the Kubernetes store and launcher", () => {
    assert.equal(deployment.spec?.replicas, 2);
    // Only the leader is Ready: a rolling update would wait forever for new followers to be available.
    assert.equal(deployment.spec?.strategy?.type, "Recreate");
    assert.ok(
      !objects.some((o) => o.kind === "PodDisruptionBudget"),
      "a budget would block draining the leader's node",
    );
    assert.deepEqual(controller.command, ["fsb-controller"]);
    const args = controller.args ?? [];
    assert.ok(args.includes("--leader-elect"));
    assert.equal(flag(args, "--store"), "kubernetes");
    assert.equal(flag(args, "--agent-launcher"), "kubernetes");
    assert.equal(flag(args, "--leader-election-id"), "fast-sandbox-controller");
    const env = Object.fromEntries((controller.env ?? []).map((e) => [e.name, e]));
    assert.equal(env.POD_NAME?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
    assert.equal(env.POD_NAMESPACE?.valueFrom?.fieldRef?.fieldPath, "metadata.namespace");
    assert.equal(env.FSB_AGENT_IMAGE?.value, controller.image, "agents default to the controller's image");
    assert.ok(controller.resources?.requests && controller.resources.limits, "requests and limits");
    assert.equal(deployment.spec?.template.spec?.securityContext?.runAsNonRoot, true);
  });

  /** A container's env as kubelet would resolve it: the downward API's values and the test Secrets'. */
  const resolveEnv = (container: V1Container, fields: Record<string, string>) =>
    Object.fromEntries(
      (container.env ?? []).map((e) => {
        const secretKey = e.valueFrom?.secretKeyRef?.key as keyof typeof TEST_TOKENS | undefined;
        const value =
          e.value ?? (secretKey ? TEST_TOKENS[secretKey] : fields[e.valueFrom?.fieldRef?.fieldPath ?? ""]);
        return [e.name, value];
      }),
    );
  /** Reads a token file through the mount that holds it. */
  const readMountedToken = (file: string) => {
    const name = path.basename(file) as keyof typeof TEST_TOKENS;
    assert.ok(name in TEST_TOKENS, `no token file ${file}`);
    return TEST_TOKENS[name];
  };

  it("passes fsb-controller only flags it accepts, meaning what the manifests intend", () => {
    const env = resolveEnv(controller, {
      "metadata.name": "fsb-controller-abc",
      "metadata.namespace": SYSTEM_NS,
    });
    const parsed = parseControllerConfig(
      controller.args ?? [],
      { ...env, KUBERNETES_SERVICE_HOST: "10.96.0.1" },
      readMountedToken,
    );
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    const c = parsed.config;
    assert.deepEqual(
      [c.store, c.agentLauncher, c.leaderElect, c.leaderElectionNamespace, c.leaderElectionId],
      ["kubernetes", "kubernetes", true, SYSTEM_NS, "fast-sandbox-controller"],
    );
    assert.deepEqual([c.api.port, c.metrics.port, c.health.port], [9090, 9091, 8081]);
    assert.equal(c.agentImage, controller.image);
    assert.equal(c.agentTokenSecret, "fast-sandbox-agent-token");
    assert.equal(c.agentServiceAccount, AGENT_SERVICE_ACCOUNT);
    assert.equal(c.token, TEST_TOKENS["api-token"]);
    assert.equal(c.agentToken, TEST_TOKENS["agent-token"]);
  });

  it("passes fsb-janitor only flags it accepts", (t) => {
    if (!janitorUsage.includes("--ownership")) {
      t.skip("fsb-janitor has no --ownership flag yet");
      return;
    }
    const env = resolveEnv(janitor, { "spec.nodeName": "node-1" });
    const parsed = parseJanitorConfig(janitor.args ?? [], env, readMountedToken);
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    assert.equal(parsed.config.nodeName, "node-1");
    assert.equal(parsed.config.logDir, DEFAULT_LOG_DIR);
    assert.equal(parsed.config.containerdState, "/run/containerd");
  });

  it("serves the API, metrics and health on the ports the flags name, the probes on the health port", () => {
    const ports = Object.fromEntries((controller.ports ?? []).map((p) => [p.name, p.containerPort]));
    const args = controller.args ?? [];
    assert.equal(flag(args, "--api-bind-address"), `:${ports.grpc}`);
    assert.equal(ports.grpc, 9090);
    assert.equal(flag(args, "--metrics-bind-address"), `:${ports.metrics}`);
    assert.equal(ports.metrics, 9091);
    assert.equal(flag(args, "--health-probe-bind-address"), `:${ports.health}`);
    assert.notEqual(ports.health, DEFAULT_HTTP_PORT, "the agents own 5758");
    assert.deepEqual(controller.livenessProbe?.httpGet, { path: "/healthz", port: "health" });
    assert.deepEqual(controller.readinessProbe?.httpGet, { path: "/readyz", port: "health" });
  });

  it("mounts the token files where the flags read them", () => {
    const mount = controller.volumeMounts?.find((m) => m.name === "tokens");
    const volume = deployment.spec?.template.spec?.volumes?.find((v) => v.name === "tokens");
    assert.equal(volume?.secret?.secretName, "fast-sandbox-tokens");
    assert.equal(flag(controller.args, "--token-file"), `${mount?.mountPath}/api-token`);
    assert.equal(flag(controller.args, "--agent-token-file"), `${mount?.mountPath}/agent-token`);
  });

  it("exposes the API as fast-sandbox-api:9090 (grpc) and the metrics, on the controller Pods", () => {
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [name, portName, port] of [
      ["fast-sandbox-api", "grpc", 9090],
      ["fast-sandbox-metrics", "metrics", 9091],
    ] as const) {
      const service = find<V1Service>(objects, "Service", name, SYSTEM_NS);
      for (const [k, v] of Object.entries(service.spec?.selector ?? {}))
        assert.equal(labels[k], v, `${name} selects ${k}`);
      const [servicePort] = service.spec?.ports ?? [];
      assert.equal(servicePort?.name, portName);
      assert.equal(servicePort?.port, port);
      assert.equal(servicePort?.targetPort, portName);
      assert.ok(servicePort?.appProtocol, `${name} names its protocol`);
      assert.ok(controller.ports?.some((p) => p.name === portName));
    }
  });

  it("runs the janitor on every node with Kubernetes ownership, the node name, containerd and the agents' logs", () => {
    assert.deepEqual(janitor.command, ["fsb-janitor"]);
    assert.equal(flag(janitor.args, "--ownership"), "kubernetes");
    const env = Object.fromEntries((janitor.env ?? []).map((e) => [e.name, e]));
    assert.equal(env.NODE_NAME?.valueFrom?.fieldRef?.fieldPath, "spec.nodeName");
    assert.equal(env.FSB_CONTROLLER_URL?.value, "http://fast-sandbox-api:9090");
    assert.deepEqual(env.FSB_TOKEN?.valueFrom?.secretKeyRef, {
      name: "fast-sandbox-tokens",
      key: "api-token",
    });
    assert.deepEqual(janitorSet.spec?.template.spec?.tolerations, [{ operator: "Exists" }]);
    const volumes = janitorSet.spec?.template.spec?.volumes ?? [];
    const hostPathOf = (mountPath: string) => {
      const mount = janitor.volumeMounts?.find(
        (m) => mountPath === m.mountPath || mountPath.startsWith(`${m.mountPath}/`),
      );
      const volume = volumes.find((v) => v.name === mount?.name);
      return volume?.hostPath ? { mount, host: volume.hostPath.path } : undefined;
    };
    // Each path the janitor reads is the same path on the node.
    for (const p of [
      flag(janitor.args, "--containerd-socket"),
      flag(janitor.args, "--containerd-state"),
      flag(janitor.args, "--log-dir"),
    ]) {
      assert.ok(p, "flag set");
      const found = hostPathOf(p);
      assert.ok(found, `${p} is mounted from the node`);
      assert.equal(found.host, found.mount?.mountPath);
    }
    assert.equal(flag(janitor.args, "--log-dir"), DEFAULT_LOG_DIR, "the agents' log directory");
    assert.equal(hostPathOf("/run/containerd")?.mount?.mountPropagation, "HostToContainer");
    assert.equal(janitor.securityContext?.runAsUser, 0);
  });

  it("grants the controller what it needs, cluster-wide where pools may live, and no more", () => {
    const cluster = find<{ rules: V1PolicyRule[] }>(objects, "ClusterRole", "fast-sandbox-controller").rules;
    const local = find<{ rules: V1PolicyRule[] }>(
      objects,
      "Role",
      "fast-sandbox-controller",
      SYSTEM_NS,
    ).rules;
    const group = "sandbox.fast.io";
    for (const resource of ["sandboxes", "sandboxpools"]) {
      for (const verb of ["get", "list", "watch", "create", "update", "patch", "delete"]) {
        assert.ok(allows(cluster, group, resource, verb), `${verb} ${resource}`);
      }
      assert.ok(allows(cluster, group, `${resource}/status`, "update"));
      assert.ok(allows(cluster, group, `${resource}/finalizers`, "update"));
    }
    for (const verb of ["get", "list", "watch", "create", "delete"])
      assert.ok(allows(cluster, "", "pods", verb));
    assert.ok(allows(cluster, "", "events", "create") && allows(cluster, "", "events", "patch"));
    assert.ok(allows(local, "coordination.k8s.io", "leases", "create"));
    for (const verb of ["get", "update"]) {
      assert.ok(allows(local, "coordination.k8s.io", "leases", verb, "fast-sandbox-controller"));
    }
    assert.ok(allows(local, "", "secrets", "get", "fast-sandbox-tokens"));
    // Least privilege: no Secrets beyond its own, no Pod updates or exec, nothing on nodes.
    assert.ok(!allows(cluster, "", "secrets", "get", "anything"));
    assert.ok(!allows(local, "", "secrets", "list"));
    assert.ok(!allows(cluster, "", "pods", "update") && !allows(cluster, "", "pods/exec", "create"));
    assert.ok(!allows(cluster, "", "nodes", "get"));
  });

  it("lets the janitor read Pods and Sandboxes, and write nothing", () => {
    const rules = find<{ rules: V1PolicyRule[] }>(objects, "ClusterRole", "fast-sandbox-janitor").rules;
    for (const verb of ["get", "list", "watch"]) assert.ok(allows(rules, "", "pods", verb));
    for (const verb of ["get", "list"]) assert.ok(allows(rules, "sandbox.fast.io", "sandboxes", verb));
    for (const verb of ["create", "update", "patch", "delete"]) {
      for (const [g, r] of [
        ["", "pods"],
        ["sandbox.fast.io", "sandboxes"],
      ] as const) {
        assert.ok(!allows(rules, g, r, verb), `${verb} ${r}`);
      }
    }
  });

  it("binds every role to an existing account, and every Pod runs as one", () => {
    const accounts = new Set(
      objects
        .filter((o) => o.kind === "ServiceAccount")
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    );
    for (const binding of objects.filter((o) => o.kind.endsWith("Binding"))) {
      const b = binding as unknown as {
        roleRef: { kind: string; name: string };
        subjects: Array<{ name: string; namespace: string }>;
      };
      find(
        objects,
        b.roleRef.kind,
        b.roleRef.name,
        b.roleRef.kind === "Role" ? binding.metadata.namespace : undefined,
      );
      for (const s of b.subjects)
        assert.ok(accounts.has(`${s.namespace}/${s.name}`), `${s.namespace}/${s.name}`);
    }
    for (const workload of [deployment, janitorSet]) {
      const account = workload.spec?.template.spec?.serviceAccountName;
      assert.ok(accounts.has(`${SYSTEM_NS}/${account}`), String(account));
    }
    const agent = find<{ automountServiceAccountToken?: boolean }>(
      objects,
      "ServiceAccount",
      AGENT_SERVICE_ACCOUNT,
      "default",
    );
    assert.equal(agent.automountServiceAccountToken, false);
    assert.ok(
      !objects.some((o) => o.kind.endsWith("Binding") && JSON.stringify(o).includes(AGENT_SERVICE_ACCOUNT)),
      "agents have no role",
    );
  });

  it("gives default-pool agent Pods that are valid and find their Secret and account in the pool's namespace", () => {
    assert.match(JSON.stringify(defaultPool.spec.agentTemplate), new RegExp(`"image":"${IMAGE}"`));
    const stored = {
      ...defaultPool,
      apiVersion: API_VERSION,
      metadata: { ...defaultPool.metadata, uid: "00000000-0000-4000-8000-000000000001" },
    };
    const pod = buildAgentPod(stored as SandboxPool, {
      agentId: "default-pool-abc12",
      image: (controller.env ?? []).find((e) => e.name === "FSB_AGENT_IMAGE")?.value ?? "",
      tokenSecretName: flag(controller.args, "--agent-token-secret") ?? "",
      serviceAccountName: AGENT_SERVICE_ACCOUNT,
    });
    const object = pod as unknown as KubeObject;
    assert.deepEqual(builtinProblems(object), []);
    const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e]));
    const ref = env.FSB_AGENT_TOKEN?.valueFrom?.secretKeyRef;
    const secret = find<V1Secret>(objects, "Secret", ref?.name ?? "", pod.metadata?.namespace);
    assert.ok(secret.data?.[ref?.key ?? ""], "the key exists");
    find(objects, "ServiceAccount", pod.spec?.serviceAccountName ?? "", pod.metadata?.namespace);
    // The agent writes its sandboxes' logs where the janitor looks for them.
    const logVolume = pod.spec?.volumes?.find((v) => v.hostPath?.path === DEFAULT_LOG_DIR);
    assert.ok(logVolume);
    assert.ok(janitorSet.spec?.template.spec?.volumes?.some((v) => v.hostPath?.path === DEFAULT_LOG_DIR));
  });

  it("never holds a real token: the token files are git-ignored and untracked", async (t) => {
    const git = promisify(execFile);
    const inRepo = await git("git", ["rev-parse", "--is-inside-work-tree"], { cwd: repoRoot }).catch(
      () => undefined,
    );
    if (!inRepo) {
      t.skip("not a git checkout");
      return;
    }
    for (const file of ["deploy/base/tokens/api-token", "deploy/base/tokens/agent-token"]) {
      await git("git", ["check-ignore", "--quiet", "--no-index", file], { cwd: repoRoot });
    }
    const { stdout } = await git("git", ["ls-files", "deploy/base/tokens"], { cwd: repoRoot });
    assert.deepEqual(stdout.trim().split("\n"), ["deploy/base/tokens/kustomization.yaml"]);
  });
});

describe("deploy/overlays/example, as rendered", async () => {
  const { objects } = await kustomize("overlays/example");
  const image = "registry.example.com/platform/fast-sandbox:0.1.0";

  it("moves every image, the agents' included, to the registry", () => {
    const text = JSON.stringify(objects);
    assert.doesNotMatch(text, /"fast-sandbox:0\.1\.0"/);
    const deployment = find<V1Deployment>(objects, "Deployment", "fsb-controller", SYSTEM_NS);
    const controller = containerOf(deployment, "controller");
    assert.equal(controller.image, image);
    assert.equal((controller.env ?? []).find((e) => e.name === "FSB_AGENT_IMAGE")?.value, image);
    assert.equal(containerOf(find(objects, "DaemonSet", "fsb-janitor", SYSTEM_NS), "janitor").image, image);
    const pool = find<SandboxPool>(objects, "SandboxPool", "default-pool", "default");
    assert.match(JSON.stringify(pool.spec.agentTemplate), new RegExp(image.replaceAll(".", "\\.")));
  });

  it("scales the controller and default-pool, keeping what it does not patch", () => {
    const deployment = find<V1Deployment>(objects, "Deployment", "fsb-controller", SYSTEM_NS);
    assert.equal(deployment.spec?.replicas, 3);
    const controller = containerOf(deployment, "controller");
    assert.equal(controller.resources?.limits?.memory, "2Gi");
    assert.equal(controller.resources?.limits?.cpu, "2", "unpatched limits stay");
    assert.ok(
      (controller.env ?? []).some((e) => e.name === "POD_NAME"),
      "unpatched env stays",
    );
    const pool = find<SandboxPool>(objects, "SandboxPool", "default-pool", "default");
    assert.deepEqual(pool.spec.capacity, { poolMin: 2, poolMax: 20, bufferMin: 5, bufferMax: 10 });
  });
});
