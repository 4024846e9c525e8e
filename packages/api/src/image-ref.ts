/** Container image references: parsing, validation and normalization after the Docker reference grammar. */
import { z } from "zod";
import { invalidArgument } from "./errors.ts";

/** A parsed image reference in fully-qualified form. */
export interface ImageRef {
  /** Registry host with optional port; `docker.io` when the reference names none. */
  domain: string;
  /** Repository path; Docker Hub's official images get their implicit `library/`. */
  path: string;
  /** The tag as written; absent when the reference has none (normalization adds `latest`). */
  tag?: string;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  digest?: string;
}

/** Longest image name (registry and path, without tag or digest), as in the Docker grammar. */
export const imageNameMaxLength = 255;

const defaultDomain = "docker.io";
const legacyDefaultDomain = "index.docker.io";
const officialRepoPrefix = "library/";

// A generous bound on a whole reference (name, tag, digest) checked before any regex runs.
const referenceMaxLength = imageNameMaxLength + 1 + 128 + 1 + 71;

// The grammar's separator `[-]*` may be empty, which only glues alphanumerics together; `-+` accepts the
// same language without the nested quantifier that makes JavaScript regexes backtrack exponentially.
const pathComponentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainPattern = new RegExp(
  `^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const tagPattern = /^\w[\w.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;
// A bare 64-hex name is ambiguous with an image id, so Docker refuses it as a repository name.
const imageIdPattern = /^[a-f0-9]{64}$/;

const referenceForm = "[registry[:port]/]path[:tag][@sha256:<64 hex digits>]";

type Parsed = { ok: true; ref: ImageRef } | { ok: false; message: string };

// Returns the parsed reference or why it is invalid; shared by the throwing and zod forms.
// Each step returns a string when the reference fails it: the reason, in the user's terms.
function parse(reference: string): Parsed {
  const fail = (message: string): Parsed => ({ ok: false, message });
  const whole = wholeReferenceProblem(reference);
  if (whole !== undefined) return fail(whole);
  const suffixes = splitSuffixes(reference);
  if (typeof suffixes === "string") return fail(suffixes);
  const { name, tag, digest } = suffixes;
  if (name === "") return fail(`has no image name; expected ${referenceForm}`);
  if (name.length > imageNameMaxLength) {
    return fail(`has an image name of ${name.length} characters; at most ${imageNameMaxLength} are allowed`);
  }
  const located = splitDomain(name);
  if (typeof located === "string") return fail(located);
  const pathProblem = repositoryPathProblem(located.path, located.domain === undefined);
  if (pathProblem !== undefined) return fail(pathProblem);

  let domain = located.domain ?? defaultDomain;
  let path = located.path;
  if (domain === legacyDefaultDomain) domain = defaultDomain;
  if (domain === defaultDomain && !path.includes("/")) path = officialRepoPrefix + path;
  const ref: ImageRef = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return { ok: true, ref };
}

/** Checks on the reference as a whole, before any part of it is read. */
function wholeReferenceProblem(reference: string): string | undefined {
  if (reference === "") return `must not be empty; expected ${referenceForm}`;
  if (reference.length > referenceMaxLength) {
    return `is too long (${reference.length} characters); the image name may be at most ${imageNameMaxLength}`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(reference)) {
    return "must not contain whitespace or control characters";
  }
  return undefined;
}

/** Takes `@digest` and then `:tag` off the end, checking each; the rest is the image name. */
function splitSuffixes(reference: string): { name: string; tag?: string; digest?: string } | string {
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) {
      return `has an invalid digest ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex digits>`;
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) {
      return `has an invalid tag ${JSON.stringify(tag)}: a tag is 1-128 letters, digits, '_', '.' or '-' and must not start with '.' or '-'`;
    }
  }
  return {
    name: rest,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/**
 * Splits a registry off the name when its first component looks like one (has a `.` or `:`, or is
 * `localhost`); `domain` is undefined when the name has none.
 */
function splitDomain(name: string): { domain?: string; path: string } | string {
  const slash = name.indexOf("/");
  if (slash === -1) return { path: name };
  const first = name.slice(0, slash);
  if (!(first.includes(".") || first.includes(":") || first === "localhost")) return { path: name };
  if (!domainPattern.test(first)) {
    return `has an invalid registry ${JSON.stringify(first)}: expected a host name or [IPv6], optionally with :port`;
  }
  return { domain: first, path: name.slice(slash + 1) };
}

/** Checks the repository path; `impliedDomain`: the name gave no registry (so it is Docker Hub's). */
function repositoryPathProblem(path: string, impliedDomain: boolean): string | undefined {
  if (path === "") return `has no repository path after the registry; expected ${referenceForm}`;
  for (const component of path.split("/")) {
    if (component === "") return `has an empty path component in ${JSON.stringify(path)}`;
    if (!pathComponentPattern.test(component)) {
      const hint = component !== component.toLowerCase() ? " (repository paths must be lowercase)" : "";
      return `has an invalid path component ${JSON.stringify(component)}${hint}: use lowercase letters and digits, separated by '.', '_', '__' or '-'`;
    }
  }
  if (impliedDomain && !path.includes("/") && imageIdPattern.test(path)) {
    return "must not be a 64-character hex string: that is an image id, not a repository name";
  }
  return undefined;
}

/**
 * Parses an image reference `[registry[:port]/]path[:tag][@sha256:<64 hex>]` into its fully-qualified parts;
 * throws INVALID_ARGUMENT naming `field` when it does not follow the Docker reference grammar.
 */
export function parseImageRef(reference: unknown, field = "image"): ImageRef {
  if (typeof reference !== "string") throw invalidArgument(field, "must be a string");
  const parsed = parse(reference);
  if (!parsed.ok) throw invalidArgument(field, parsed.message);
  return parsed.ref;
}

/** Renders a parsed reference; `latest` is implied only when neither a tag nor a digest is given. */
export function formatImageRef(ref: ImageRef): string {
  const tag = ref.tag ?? (ref.digest === undefined ? "latest" : undefined);
  return `${ref.domain}/${ref.path}${tag === undefined ? "" : `:${tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/**
 * Returns the fully-qualified form of an image reference, the one containerd stores:
 * `alpine` becomes `docker.io/library/alpine:latest`, `localhost:5000/x` becomes `localhost:5000/x:latest`.
 */
export function normalizeImageName(reference: unknown, field = "image"): string {
  return formatImageRef(parseImageRef(reference, field));
}

/** Whether `reference` is a valid image reference. */
export function isImageRef(reference: unknown): reference is string {
  return typeof reference === "string" && parse(reference).ok;
}

/** zod schema for an image reference; it validates and keeps the string as written. */
export const imageRefSchema = z.string().superRefine((reference, ctx) => {
  const parsed = parse(reference);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.message });
});
