/** Who an exec'd process runs as: "uid", "uid:gid", "name" or "name:gid", names looked up in the image's /etc/passwd (pure). */
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { MAX_ID } from "../containerd/spec-options.ts";

/** A user as the kernel sees it. */
export interface ProcessUser {
  uid: number;
  gid: number;
}

/** A parsed user field: ids where given, the name where it must be looked up. */
export type UserRequest =
  | { uid: number; gid: number | undefined }
  | { name: string; gid: number | undefined };

/** POSIX portable user names, plus the trailing "$" Samba machine accounts use. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const DIGITS = /^\d+$/;

function id(text: string, field: string): number {
  const n = Number(text);
  if (!DIGITS.test(text) || n > MAX_ID)
    throw invalidArgument(field, `"${text}" is not an id from 0 to ${MAX_ID}`);
  return n;
}

/** Parses the `user` of an exec request; INVALID_ARGUMENT (field `user`) for anything else. */
export function parseUserRequest(user: string): UserRequest {
  const parts = user.split(":");
  if (parts.length > 2 || parts[0] === "") {
    throw invalidArgument("user", `"${user}" is not uid, uid:gid, name or name:gid`);
  }
  const [who = "", group] = parts;
  const gid = group === undefined ? undefined : id(group, "user");
  if (DIGITS.test(who)) return { uid: id(who, "user"), gid };
  if (!USER_NAME.test(who)) throw invalidArgument("user", `"${who}" is not a valid user name`);
  return { name: who, gid };
}

/** One line of /etc/passwd that names a user with numeric ids. */
interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

/** The well-formed entries of an /etc/passwd text; malformed lines and comments are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 4) continue;
    const [name = "", , uid = "", gid = ""] = fields;
    if (name === "" || !DIGITS.test(uid) || !DIGITS.test(gid)) continue;
    entries.push({ name, uid: Number(uid), gid: Number(gid) });
  }
  return entries;
}

/**
 * The ids of a request. A bare uid runs with gid 0 (as for the image's own user, see
 * image-config-option.ts); a name takes its uid and primary gid from `passwd` (the image's
 * /etc/passwd, undefined if it has none), and an unknown name is FAILED_PRECONDITION.
 */
export function resolveUser(request: UserRequest, passwd: string | undefined): ProcessUser {
  if ("uid" in request) return { uid: request.uid, gid: request.gid ?? 0 };
  const entry = parsePasswd(passwd ?? "").find((e) => e.name === request.name);
  if (!entry) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      `user "${request.name}" is not in the image's /etc/passwd`,
      { field: "user" },
    );
  }
  return { uid: entry.uid, gid: request.gid ?? entry.gid };
}
