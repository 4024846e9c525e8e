import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildSpec,
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH_ENV,
  DEFAULT_PIDS_LIMIT,
  defaultSpec,
  type OciSpec,
  type SpecOption,
} from "./oci-spec.ts";

describe("defaultSpec", () => {
  const spec = defaultSpec();
  const mount = (destination: string) => spec.mounts.find((m) => m.destination === destination);

  const cases: Array<{ name: string; got: () => unknown; want: unknown }> = [
    { name: "targets runtime-spec 1.0.2", got: () => spec.ociVersion, want: "1.0.2" },
    { name: "runs a placeholder shell", got: () => spec.process.args, want: ["sh"] },
    { name: "starts in /", got: () => spec.process.cwd, want: "/" },
    { name: "runs as root", got: () => spec.process.user, want: { uid: 0, gid: 0 } },
    { name: "sets a default PATH", got: () => spec.process.env, want: [DEFAULT_PATH_ENV] },
    { name: "forbids gaining privileges", got: () => spec.process.noNewPrivileges, want: true },
    { name: "has no terminal", got: () => spec.process.terminal, want: false },
    {
      name: "limits open files to 1024",
      got: () => spec.process.rlimits,
      want: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    },
    {
      name: "bounding caps are the default set",
      got: () => spec.process.capabilities.bounding,
      want: [...DEFAULT_CAPABILITIES],
    },
    {
      name: "effective caps are the default set",
      got: () => spec.process.capabilities.effective,
      want: [...DEFAULT_CAPABILITIES],
    },
    {
      name: "permitted caps are the default set",
      got: () => spec.process.capabilities.permitted,
      want: [...DEFAULT_CAPABILITIES],
    },
    { name: "grants no inheritable caps", got: () => spec.process.capabilities.inheritable, want: undefined },
    { name: "grants no ambient caps", got: () => spec.process.capabilities.ambient, want: undefined },
    { name: "uses a writable rootfs dir", got: () => spec.root, want: { path: "rootfs", readonly: false } },
    {
      name: "mounts the standard filesystems in order",
      got: () => spec.mounts.map((m) => `${m.destination}:${m.type}`),
      want: [
        "/proc:proc",
        "/dev:tmpfs",
        "/dev/pts:devpts",
        "/dev/shm:tmpfs",
        "/dev/mqueue:mqueue",
        "/sys:sysfs",
        "/sys/fs/cgroup:cgroup",
      ],
    },
    {
      name: "caps /dev size",
      got: () => mount("/dev")?.options,
      want: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      name: "gives /dev/pts its own ptmx",
      got: () => mount("/dev/pts")?.options,
      want: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      name: "caps /dev/shm size",
      got: () => mount("/dev/shm")?.options,
      want: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      name: "mounts /sys read-only",
      got: () => mount("/sys")?.options,
      want: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      name: "mounts cgroups read-only",
      got: () => mount("/sys/fs/cgroup")?.options,
      want: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
    {
      name: "has pid, ipc, uts and mount namespaces but no network one",
      got: () => spec.linux.namespaces,
      want: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
    },
    {
      name: "denies all devices first",
      got: () => spec.linux.resources.devices[0],
      want: { allow: false, access: "rwm" },
    },
    {
      name: "then allows the usual char devices",
      got: () =>
        spec.linux.resources.devices
          .slice(1)
          .map((d) => `${d.allow}:${d.type}:${d.major}:${d.minor ?? "*"}:${d.access}`),
      want: ["1:3", "1:5", "1:7", "1:8", "1:9", "5:0", "5:1", "5:2", "136:*"].map((n) => `true:c:${n}:rwm`),
    },
    { name: "limits pids", got: () => spec.linux.resources.pids, want: { limit: DEFAULT_PIDS_LIMIT } },
    { name: "sets no cpu limit", got: () => spec.linux.resources.cpu, want: undefined },
    { name: "sets no memory limit", got: () => spec.linux.resources.memory, want: undefined },
    {
      name: "masks sensitive paths",
      got: () => spec.linux.maskedPaths,
      want: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
      ],
    },
    {
      name: "makes kernel knobs read-only",
      got: () => spec.linux.readonlyPaths,
      want: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
    { name: "has no hostname", got: () => spec.hostname, want: undefined },
    { name: "has no cgroups path", got: () => spec.linux.cgroupsPath, want: undefined },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(tc.got(), tc.want));
  }

  it("returns a fresh spec each time", () => {
    const a = defaultSpec();
    a.process.env.push("X=1");
    a.process.capabilities.bounding.push("CAP_SYS_ADMIN");
    a.mounts[0]?.options?.push("ro");
    assert.deepEqual(defaultSpec(), spec);
  });
});

describe("buildSpec", () => {
  const cases: Array<{
    name: string;
    options: SpecOption[];
    want: (spec: OciSpec) => unknown;
    expected: unknown;
  }> = [
    { name: "without options is the default", options: [], want: (s) => s, expected: defaultSpec() },
    {
      name: "applies options in order",
      options: [(s) => s.process.args.push("a"), (s) => s.process.args.push("b")],
      want: (s) => s.process.args,
      expected: ["sh", "a", "b"],
    },
    {
      name: "later options win",
      options: [
        (s) => {
          s.hostname = "first";
        },
        (s) => {
          s.hostname = "second";
        },
      ],
      want: (s) => s.hostname,
      expected: "second",
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(tc.want(buildSpec(...tc.options)), tc.expected));
  }
});
