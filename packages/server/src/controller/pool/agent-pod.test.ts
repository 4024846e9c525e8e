// The agent Pod builder, tested as data: the template's settings survive, the agent's are added once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  API_VERSION,
  ErrorCode,
  isFsbError,
  type SandboxPool,
  type SandboxPoolSpec,
} from "@fast-sandbox/api";
import type { V1Container, V1EnvVar, V1Pod } from "@kubernetes/client-node";
import { Pod } from "kubernetes-models/v1/Pod";
import { parseAgentConfig } from "../../agent/agent-config.ts";
import {
  AGENT_TERMINATION_GRACE_SECONDS,
  type AgentPodOptions,
  buildAgentPod,
  INSTALL_RUNSC_SCRIPT,
  NODE_SECCOMP_DIR,
  RUNSC_HOST_DIR,
} from "./agent-pod.ts";

function pool(spec: Partial<SandboxPoolSpec>, name = "default-pool", namespace = "default"): SandboxPool {
  return {
    apiVersion: API_VERSION,
    kind: "SandboxPool",
    metadata: {
      name,
      namespace,
      uid: "0b5e8f7a-1111-4c1e-9d3b-6a1f3c2e9a10",
      resourceVersion: "7",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: {},
      annotations: {},
      finalizers: [],
    },
    spec: { capacity: { poolMin: 1, poolMax: 10, bufferMin: 0, bufferMax: 10 }, ...spec },
    status: {},
  };
}

const options: AgentPodOptions = {
  agentId: "default-pool-7f3a9",
  image: "fast-sandbox:0.1.0",
  tokenSecretName: "fast-sandbox-agent-token",
  serviceAccountName: "fast-sandbox-agent",
};

const agentOf = (pod: V1Pod): V1Container => {
  const agent = pod.spec?.containers.find((c) => c.name === "agent");
  assert.ok(agent, "no agent container");
  return agent;
};
const envOf = (pod: V1Pod): Record<string, V1EnvVar> =>
  Object.fromEntries((agentOf(pod).env ?? []).map((e) => [e.name, e]));
const names = (list: Array<{ name: string }> | undefined) => (list ?? []).map((x) => x.name);
const count = <T>(list: T[] | undefined, match: (x: T) => boolean) => (list ?? []).filter(match).length;

/** Throws with the validator's messages when Kubernetes' own schema rejects the Pod. */
function validatePod(pod: V1Pod): void {
  new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
}

interface Case {
  name: string;
  pool: SandboxPool;
  options?: Partial<AgentPodOptions>;
  check: (pod: V1Pod) => void;
}

const sidecarTemplate = {
  metadata: {
    labels: { team: "ml", "sandbox.fast.io/pool": "spoofed" },
    annotations: { "example.com/owner": "ml" },
  },
  spec: {
    nodeSelector: { "node.example.com/sandboxes": "true" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "sandboxes", effect: "NoSchedule" }],
    priorityClassName: "sandbox-agents",
    containers: [
      {
        name: "log-shipper",
        image: "fluent-bit:3.0",
        volumeMounts: [{ name: "shipper-config", mountPath: "/etc/fb" }],
      },
      {
        name: "agent",
        image: "registry.example.com/fast-sandbox:custom",
        args: ["--log-level", "debug"],
        env: [
          { name: "HTTPS_PROXY", value: "http://proxy:3128" },
          { name: "AGENT_CAPACITY", value: "99" },
        ],
        resources: { requests: { cpu: "1", memory: "1Gi" } },
      },
    ],
    volumes: [{ name: "shipper-config", configMap: { name: "fb-config" } }],
  },
};

const cases: Case[] = [
  {
    name: "a pool without a template gets a complete agent Pod",
    pool: pool({ maxSandboxesPerPod: 7 }),
    check: (pod) => {
      assert.equal(pod.metadata?.name, "default-pool-7f3a9");
      assert.equal(pod.metadata?.namespace, "default");
      assert.deepEqual(pod.metadata?.labels, {
        "app.kubernetes.io/name": "fast-sandbox",
        "app.kubernetes.io/component": "agent",
        "app.kubernetes.io/managed-by": "fast-sandbox",
        "sandbox.fast.io/pool": "default-pool",
        "sandbox.fast.io/agent": "default-pool-7f3a9",
      });
      assert.deepEqual(pod.metadata?.ownerReferences, [
        {
          apiVersion: "sandbox.fast.io/v1alpha1",
          kind: "SandboxPool",
          name: "default-pool",
          uid: "0b5e8f7a-1111-4c1e-9d3b-6a1f3c2e9a10",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      const spec = pod.spec!;
      assert.equal(spec.hostPID, true);
      assert.equal(spec.hostNetwork, undefined, "sandboxes use the Pod network");
      assert.equal(spec.restartPolicy, "Always");
      assert.equal(spec.serviceAccountName, "fast-sandbox-agent");
      assert.equal(spec.automountServiceAccountToken, false);
      assert.equal(spec.terminationGracePeriodSeconds, AGENT_TERMINATION_GRACE_SECONDS);
      assert.deepEqual(names(spec.containers), ["agent"]);
      const agent = agentOf(pod);
      assert.equal(agent.image, "fast-sandbox:0.1.0");
      assert.deepEqual(agent.command, ["fsb-agent"]);
      assert.deepEqual(agent.args, [
        "--http-port",
        "5758",
        "--log-dir",
        "/var/log/fast-sandbox",
        "--anchor-dir",
        "/var/lib/fast-sandbox/anchor",
        "--runtime",
        "container",
        "--seccomp",
        "runtime-default",
        "--network-mode",
        "isolated",
      ]);
      assert.equal(agent.securityContext?.privileged, true);
      assert.equal(agent.securityContext?.runAsUser, 0);
      assert.deepEqual(agent.ports, [{ name: "http", containerPort: 5758, protocol: "TCP" }]);
      assert.deepEqual(agent.readinessProbe?.httpGet, { path: "/healthz", port: "http" });
      const env = envOf(pod);
      assert.deepEqual(env.POD_NAME?.valueFrom?.fieldRef, { fieldPath: "metadata.name" });
      assert.deepEqual(env.POD_NAMESPACE?.valueFrom?.fieldRef, { fieldPath: "metadata.namespace" });
      assert.deepEqual(env.POD_IP?.valueFrom?.fieldRef, { fieldPath: "status.podIP" });
      assert.deepEqual(env.NODE_NAME?.valueFrom?.fieldRef, { fieldPath: "spec.nodeName" });
      assert.equal(env.AGENT_CAPACITY?.value, "7");
      assert.equal(env.AGENT_POOL?.value, "default-pool");
      assert.equal(env.AGENT_NAMESPACE?.value, "default");
      assert.deepEqual(env.FSB_AGENT_TOKEN?.valueFrom?.secretKeyRef, {
        name: "fast-sandbox-agent-token",
        key: "agent-token",
      });
      assert.equal(env.FSB_CONTROLLER_URL, undefined);
      assert.deepEqual(spec.volumes, [
        { name: "fsb-containerd", hostPath: { path: "/run/containerd", type: "Directory" } },
        { name: "fsb-sandbox-logs", hostPath: { path: "/var/log/fast-sandbox", type: "DirectoryOrCreate" } },
        { name: "fsb-anchor", hostPath: { path: "/var/lib/fast-sandbox/anchor", type: "DirectoryOrCreate" } },
        { name: "fsb-netns", hostPath: { path: "/var/run/netns", type: "DirectoryOrCreate" } },
        {
          name: "fsb-network-state",
          hostPath: { path: "/run/fast-sandbox/network", type: "DirectoryOrCreate" },
        },
      ]);
      assert.deepEqual(agent.volumeMounts, [
        {
          name: "fsb-containerd",
          mountPath: "/run/containerd",
          readOnly: true,
          mountPropagation: "HostToContainer",
        },
        { name: "fsb-sandbox-logs", mountPath: "/var/log/fast-sandbox" },
        { name: "fsb-anchor", mountPath: "/var/lib/fast-sandbox/anchor" },
        { name: "fsb-netns", mountPath: "/var/run/netns", mountPropagation: "Bidirectional" },
        { name: "fsb-network-state", mountPath: "/run/fast-sandbox/network" },
      ]);
      assert.equal(spec.initContainers, undefined);
    },
  },
  {
    name: "a template keeps its containers, volumes, tolerations, nodeSelector, labels and env",
    pool: pool({ agentTemplate: sidecarTemplate }, "ml-pool", "team-ml"),
    options: { agentId: "ml-pool-1" },
    check: (pod) => {
      const spec = pod.spec!;
      assert.deepEqual(names(spec.containers), ["log-shipper", "agent"], "the agent is merged in place");
      assert.deepEqual(spec.containers[0], sidecarTemplate.spec.containers[0]);
      assert.deepEqual(spec.tolerations, sidecarTemplate.spec.tolerations);
      assert.deepEqual(spec.nodeSelector, {
        "kubernetes.io/os": "linux",
        "node.example.com/sandboxes": "true",
      });
      assert.equal(spec.priorityClassName, "sandbox-agents");
      assert.deepEqual(names(spec.volumes), [
        "shipper-config",
        "fsb-containerd",
        "fsb-sandbox-logs",
        "fsb-anchor",
        "fsb-netns",
        "fsb-network-state",
      ]);
      assert.equal(pod.metadata?.labels?.team, "ml");
      assert.equal(pod.metadata?.labels?.["sandbox.fast.io/pool"], "ml-pool", "our selector labels win");
      assert.equal(pod.metadata?.annotations?.["example.com/owner"], "ml");
      assert.equal(pod.metadata?.namespace, "team-ml");
      const agent = agentOf(pod);
      assert.equal(agent.image, "registry.example.com/fast-sandbox:custom", "the template's image wins");
      assert.deepEqual(agent.resources, { requests: { cpu: "1", memory: "1Gi" } });
      assert.deepEqual(agent.args?.slice(-2), ["--log-level", "debug"], "template args come last");
      const env = envOf(pod);
      assert.equal(env.HTTPS_PROXY?.value, "http://proxy:3128", "user env is kept");
      assert.equal(env.AGENT_CAPACITY?.value, "5", "the pool's capacity replaces the template's");
      assert.equal(env.AGENT_POOL?.value, "ml-pool");
      assert.equal(env.AGENT_NAMESPACE?.value, "team-ml");
      assert.equal(
        count(agent.env, (e) => e.name === "AGENT_CAPACITY"),
        1,
      );
    },
  },
  {
    name: "a gvisor pool runs the agent with --runtime gvisor and installs runsc on the node first",
    pool: pool({ runtimeType: "gvisor" }),
    check: (pod) => {
      const agent = agentOf(pod);
      const args = agent.args ?? [];
      assert.equal(args[args.indexOf("--runtime") + 1], "gvisor");
      assert.equal(args[args.indexOf("--runsc-binary") + 1], `${RUNSC_HOST_DIR}/runsc-wrapper.sh`);
      const [install] = pod.spec?.initContainers ?? [];
      assert.equal(install?.name, "install-runsc");
      assert.equal(install?.image, "fast-sandbox:0.1.0");
      assert.deepEqual(install?.command, [INSTALL_RUNSC_SCRIPT, RUNSC_HOST_DIR]);
      assert.deepEqual(install?.volumeMounts, [{ name: "fsb-runsc", mountPath: RUNSC_HOST_DIR }]);
      assert.ok(
        pod.spec?.volumes?.some((v) => v.name === "fsb-runsc" && v.hostPath?.path === RUNSC_HOST_DIR),
      );
    },
  },
  {
    name: "an Unconfined pool runs the agent with --seccomp unconfined and mounts no profile directory",
    pool: pool({ seccompProfile: { type: "Unconfined" } }),
    check: (pod) => {
      const args = agentOf(pod).args ?? [];
      assert.equal(args[args.indexOf("--seccomp") + 1], "unconfined");
      assert.ok(!pod.spec?.volumes?.some((v) => v.name === "fsb-seccomp"));
    },
  },
  {
    name: "a Localhost pool names the node's profile file and mounts the profile directory read-only",
    pool: pool({ seccompProfile: { type: "Localhost", localhostProfile: "team-a/strict.json" } }),
    check: (pod) => {
      const agent = agentOf(pod);
      const args = agent.args ?? [];
      assert.equal(args[args.indexOf("--seccomp") + 1], `${NODE_SECCOMP_DIR}/team-a/strict.json`);
      assert.deepEqual(pod.spec?.volumes?.find((v) => v.name === "fsb-seccomp")?.hostPath, {
        path: NODE_SECCOMP_DIR,
        type: "DirectoryOrCreate",
      });
      assert.deepEqual(
        agent.volumeMounts?.find((m) => m.name === "fsb-seccomp"),
        { name: "fsb-seccomp", mountPath: NODE_SECCOMP_DIR, readOnly: true },
      );
    },
  },
  {
    name: "volumes, mounts and env the template already has are not added twice",
    pool: pool({
      agentTemplate: {
        spec: {
          containers: [
            {
              name: "agent",
              env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
              volumeMounts: [{ name: "containerd", mountPath: "/run/containerd" }],
              ports: [{ name: "http", containerPort: 5758 }],
            },
          ],
          volumes: [
            { name: "containerd", hostPath: { path: "/run/containerd" } },
            { name: "fsb-sandbox-logs", hostPath: { path: "/var/log/fast-sandbox" } },
          ],
        },
      },
    }),
    check: (pod) => {
      const agent = agentOf(pod);
      assert.deepEqual(names(pod.spec?.volumes), [
        "containerd",
        "fsb-sandbox-logs",
        "fsb-anchor",
        "fsb-netns",
        "fsb-network-state",
      ]);
      assert.deepEqual(agent.volumeMounts, [
        { name: "containerd", mountPath: "/run/containerd" },
        { name: "fsb-sandbox-logs", mountPath: "/var/log/fast-sandbox" },
        { name: "fsb-anchor", mountPath: "/var/lib/fast-sandbox/anchor" },
        { name: "fsb-netns", mountPath: "/var/run/netns", mountPropagation: "Bidirectional" },
        { name: "fsb-network-state", mountPath: "/run/fast-sandbox/network" },
      ]);
      assert.equal(
        count(agent.env, (e) => e.name === "POD_IP"),
        1,
      );
      assert.equal(
        count(agent.ports, (p) => p.containerPort === 5758),
        1,
      );
    },
  },
  {
    name: "the template's service account, grace period and probe win; a controller URL makes the agent register",
    pool: pool({
      agentTemplate: {
        spec: {
          serviceAccountName: "custom-agent",
          terminationGracePeriodSeconds: 300,
          shareProcessNamespace: true,
          containers: [
            {
              name: "agent",
              readinessProbe: { tcpSocket: { port: 6000 } },
              securityContext: { allowPrivilegeEscalation: false, runAsUser: 0 },
            },
          ],
        },
      },
    }),
    options: { agentPort: 6000, controllerUrl: "http://fast-sandbox-api.fast-sandbox-system:9090" },
    check: (pod) => {
      assert.equal(pod.spec?.serviceAccountName, "custom-agent");
      assert.equal(pod.spec?.terminationGracePeriodSeconds, 300);
      assert.equal(pod.spec?.shareProcessNamespace, undefined, "it cannot go with hostPID");
      const agent = agentOf(pod);
      assert.deepEqual(agent.readinessProbe, { tcpSocket: { port: 6000 } });
      assert.deepEqual(agent.securityContext, { privileged: true, runAsUser: 0 });
      assert.deepEqual(agent.ports, [{ name: "http", containerPort: 6000, protocol: "TCP" }]);
      assert.deepEqual(agent.args?.slice(0, 2), ["--http-port", "6000"]);
      assert.equal(envOf(pod).FSB_CONTROLLER_URL?.value, "http://fast-sandbox-api.fast-sandbox-system:9090");
    },
  },
  {
    name: "without a service account in the options the Pod names none",
    pool: pool({}),
    options: { serviceAccountName: undefined },
    check: (pod) => assert.equal(pod.spec?.serviceAccountName, undefined),
  },
];

describe("buildAgentPod", () => {
  for (const c of cases) {
    it(c.name, () => {
      const before = structuredClone(c.pool);
      const pod = buildAgentPod(c.pool, { ...options, ...c.options });
      assert.deepEqual(c.pool, before, "the pool is not changed");
      validatePod(pod);
      c.check(pod);
    });
  }

  it("starts an agent that reads its id, address, pool, capacity, runtime and token from the Pod", () => {
    for (const runtimeType of ["container", "gvisor"] as const) {
      const pod = buildAgentPod(pool({ runtimeType, maxSandboxesPerPod: 9 }, "gpu", "team-a"), options);
      const agent = agentOf(pod);
      // The values kubelet would put in: the downward API's and the Secret's.
      const resolved: Record<string, string> = {
        "metadata.name": pod.metadata!.name!,
        "metadata.namespace": "team-a",
        "status.podIP": "10.244.1.7",
        "spec.nodeName": "node-3",
      };
      const env = Object.fromEntries(
        (agent.env ?? []).map((e) => [
          e.name,
          e.value ??
            (e.valueFrom?.secretKeyRef ? "agent-secret" : resolved[e.valueFrom?.fieldRef?.fieldPath ?? ""]),
        ]),
      );
      assert.deepEqual(agent.command, ["fsb-agent"]);
      const parsed = parseAgentConfig(agent.args ?? [], env, () => assert.fail("reads no file"));
      assert.equal(parsed.help, false);
      if (parsed.help) return;
      const { config } = parsed;
      assert.deepEqual(
        {
          agentId: config.agentId,
          advertiseAddress: config.advertiseAddress,
          nodeName: config.nodeName,
          pool: config.pool,
          namespace: config.namespace,
          capacity: config.capacity,
          httpPort: config.httpPort,
          runtime: config.runtime,
          token: config.token,
          logDir: config.logDir,
          containerdSocket: config.containerdSocket,
        },
        {
          agentId: "default-pool-7f3a9",
          advertiseAddress: "10.244.1.7",
          nodeName: "node-3",
          pool: "gpu",
          namespace: "team-a",
          capacity: 9,
          httpPort: 5758,
          runtime: runtimeType,
          token: "agent-secret",
          logDir: "/var/log/fast-sandbox",
          containerdSocket: "/run/containerd/containerd.sock",
        },
      );
      // The socket is inside the mounted containerd directory; gVisor's wrapper is where the init container puts it.
      assert.ok(agent.volumeMounts?.some((m) => config.containerdSocket.startsWith(`${m.mountPath}/`)));
      if (runtimeType === "gvisor") assert.equal(config.runscBinary, `${RUNSC_HOST_DIR}/runsc-wrapper.sh`);
    }
  });

  it("rejects an agent id that cannot name a Pod", () => {
    assert.throws(
      () => buildAgentPod(pool({}), { ...options, agentId: "Agent_1" }),
      (err: unknown) => isFsbError(err, ErrorCode.InvalidArgument) && err.field === "agentId",
    );
  });

  it("is caught by the Pod validator when a field is wrong", () => {
    const pod = buildAgentPod(pool({}), options);
    agentOf(pod).ports = [{ name: "http", containerPort: "5758" as unknown as number }];
    assert.throws(() => validatePod(pod), /containerPort must be integer/);
  });
});
