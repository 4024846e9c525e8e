/** The FileService cases of api-bad-input.test.ts: rules the controller checks before routing, and what the sandbox's files refuse. */
import { Code } from "@connectrpc/connect";
import { FileService } from "../../packages/api/gen/fastsandbox/v1/files_pb.ts";
import type { BadInputCase } from "./api-bad-input-cases.ts";

const files = FileService.method;

/** `kept` is the running sandbox api-bad-input.test.ts creates first (KEPT_SANDBOX), a busybox image. */
export function fileCases(kept: string): BadInputCase[] {
  const refused = (
    name: string,
    method: BadInputCase["method"],
    message: Record<string, unknown>,
    code: Code,
    field?: string,
  ): BadInputCase => ({ name, method, request: { message }, code, ...(field ? { field } : {}) });
  const invalid = (
    name: string,
    method: BadInputCase["method"],
    message: Record<string, unknown>,
    field: string,
  ) => refused(name, method, message, Code.InvalidArgument, field);
  const at = (path: string) => ({ name: kept, path });
  return [
    invalid("stat: no name", files.stat, { path: "/" }, "name"),
    invalid("stat: no path", files.stat, { name: kept }, "path"),
    invalid("stat: relative path", files.stat, at("etc/passwd"), "path"),
    invalid("stat: NUL in path", files.stat, at("/etc/\0passwd"), "path"),
    invalid("stat: path over 4096 bytes", files.stat, at(`/${"a".repeat(4096)}`), "path"),
    invalid("stat: bad namespace", files.stat, { ...at("/"), namespace: "Bad NS" }, "namespace"),
    refused("stat: missing sandbox", files.stat, { name: "nope", path: "/" }, Code.NotFound),
    refused("stat: missing file", files.stat, at("/no/such"), Code.NotFound, "path"),
    invalid("list: depth 33", files.list, { ...at("/"), depth: 33 }, "depth"),
    refused(
      "list: a file, not a directory",
      files.list,
      at("/etc/passwd/x"),
      Code.FailedPrecondition,
      "path",
    ),
    refused("list: missing directory", files.list, at("/no/such"), Code.NotFound, "path"),
    invalid("makeDir: mode over 0o7777", files.makeDir, { ...at("/d"), mode: 0o10000 }, "mode"),
    refused("makeDir: missing parent, without parents", files.makeDir, at("/no/such"), Code.NotFound, "path"),
    refused("makeDir: missing sandbox", files.makeDir, { name: "nope", path: "/d" }, Code.NotFound),
    refused("makeDir: existing, without parents", files.makeDir, at("/etc"), Code.AlreadyExists, "path"),
    refused(
      "makeDir: a read-only file system",
      files.makeDir,
      { ...at("/sys/fsb"), parents: true },
      Code.PermissionDenied,
      "path",
    ),
    invalid("remove: /", files.remove, { ...at("/"), recursive: true }, "path"),
    refused("remove: a directory not empty", files.remove, at("/etc"), Code.FailedPrecondition, "path"),
    refused("remove: missing file", files.remove, at("/no/such"), Code.NotFound, "path"),
    invalid("move: relative from", files.move, { name: kept, from: "a", to: "/b" }, "from"),
    invalid("move: no to", files.move, { name: kept, from: "/a" }, "to"),
    refused(
      "move: missing from",
      files.move,
      { name: kept, from: "/no/such", to: "/b" },
      Code.NotFound,
      "from",
    ),
    invalid("readFile: relative path", files.readFile, at("x"), "path"),
    refused("readFile: missing file", files.readFile, at("/no/such"), Code.NotFound, "path"),
    refused("readFile: a directory", files.readFile, at("/etc"), Code.FailedPrecondition, "path"),
    refused("readFile: missing sandbox", files.readFile, { name: "nope", path: "/x" }, Code.NotFound),
    invalid("writeFile: mode over 0o7777", files.writeFile, { ...at("/x"), mode: 0o20000 }, "mode"),
    invalid(
      "writeFile: content over 1 MiB",
      files.writeFile,
      { ...at("/x"), content: new Uint8Array(1024 * 1024 + 1) },
      "content",
    ),
    refused("writeFile: onto a directory", files.writeFile, at("/etc"), Code.FailedPrecondition, "path"),
    refused(
      "writeFile: a read-only file system",
      files.writeFile,
      at("/sys/fsb"),
      Code.PermissionDenied,
      "path",
    ),
    refused(
      "remove: a read-only file system",
      files.remove,
      at("/proc/sys/kernel/hostname"),
      Code.PermissionDenied,
      "path",
    ),
    refused(
      "move: a read-only file system",
      files.move,
      { name: kept, from: "/proc/sys/kernel/hostname", to: "/proc/sys/kernel/fsb" },
      Code.PermissionDenied,
      "from",
    ),
    refused("writeFile: missing parent", files.writeFile, at("/no/such/x"), Code.NotFound, "path"),
  ];
}
