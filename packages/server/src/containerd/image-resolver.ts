/** Resolves an image in containerd's store to the parts a container needs: config and chain id. */
import { ErrorCode, FsbError, normalizeImageName } from "@fast-sandbox/api";
import { chainId } from "./chain-id.ts";
import type { ContainerdConnection } from "./connection.ts";
import { containerdCall, fromContainerdError, isNotFound } from "./errors.ts";
import type { ImageConfig } from "./image-config-option.ts";

/** An image ready to be used as a container's root: its name, digest, config and snapshot parent. */
export interface ResolvedImage {
  /** Normalised name, as stored in containerd (`docker.io/library/busybox:latest`). */
  name: string;
  /** Digest of the image's target (manifest or index). */
  digest: string;
  /** Chain id of the layers: the committed snapshot a container is prepared from. */
  chainId: string;
  config: ImageConfig;
}

const indexMediaTypes = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** Node's arch names differ from OCI's for the common cases. */
const ociArch: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
};

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os?: string; architecture?: string };
}

/**
 * How long a resolved image is reused without asking containerd again. Asking costs about a
 * millisecond of a ~70 ms create; in exchange, an image re-tagged on the node is picked up by
 * creates at most this much later.
 */
export const IMAGE_REVALIDATE_MS = 2000;

/** Resolves images and remembers the answer per name, revalidating by digest. */
export class ImageResolver {
  readonly #conn: ContainerdConnection;
  readonly #cache = new Map<string, ResolvedImage & { checkedAt: number }>();
  readonly #now: () => number;

  constructor(conn: ContainerdConnection, options: { now?: () => number } = {}) {
    this.#conn = conn;
    this.#now = options.now ?? Date.now;
  }

  /** Resolves `ref` (any accepted spelling); NOT_FOUND when the node does not have it. */
  async resolve(ref: string): Promise<ResolvedImage> {
    const name = normalizeImageName(ref);
    const fresh = this.#cache.get(name);
    if (fresh && this.#now() - fresh.checkedAt < IMAGE_REVALIDATE_MS) return fresh;
    const image = await this.#getImage(name);
    const target = image.target;
    if (!target) throw new FsbError(ErrorCode.Internal, `image ${name} has no target descriptor`);
    const cached = this.#cache.get(name);
    if (cached && cached.digest === target.digest) {
      cached.checkedAt = this.#now();
      return cached;
    }

    const manifest = await this.#manifestFor(name, { mediaType: target.mediaType, digest: target.digest });
    const configDigest = (manifest.config as Descriptor | undefined)?.digest;
    if (!configDigest)
      throw new FsbError(ErrorCode.FailedPrecondition, `image ${name}: manifest has no config`);
    const imageConfig = (await this.#readJson(configDigest)) as {
      config?: Record<string, unknown>;
      rootfs?: { diff_ids?: string[] };
    };
    const diffIds = imageConfig.rootfs?.diff_ids ?? [];
    if (diffIds.length === 0) throw new FsbError(ErrorCode.FailedPrecondition, `image ${name} has no layers`);
    const resolved: ResolvedImage = {
      name,
      digest: target.digest,
      chainId: chainId(diffIds),
      config: toImageConfig(imageConfig.config ?? {}),
    };
    this.#cache.set(name, { ...resolved, checkedAt: this.#now() });
    return resolved;
  }

  /** Names of every image in the namespace, normalised; digest-only aliases are left out. */
  async list(): Promise<string[]> {
    const response = await containerdCall("list images", () => this.#conn.images.list({}));
    const names = new Set<string>();
    for (const image of response.images) {
      if (image.name.startsWith("sha256:")) continue;
      try {
        names.add(normalizeImageName(image.name));
      } catch {
        // containerd may hold names our grammar rejects (from other tools); they cannot be requested anyway.
      }
    }
    return [...names].sort();
  }

  async #getImage(name: string) {
    try {
      const response = await this.#conn.images.get({ name });
      if (!response.image) throw new FsbError(ErrorCode.NotFound, `image ${name} not found`);
      return response.image;
    } catch (err) {
      if (isNotFound(err)) {
        throw new FsbError(
          ErrorCode.NotFound,
          `image ${name} is not on this node (containerd namespace ${this.#conn.namespace}); pull or import it first`,
          { cause: err },
        );
      }
      throw fromContainerdError(err, `get image ${name}`);
    }
  }

  async #manifestFor(name: string, target: Descriptor): Promise<Record<string, unknown>> {
    const document = (await this.#readJson(target.digest)) as Record<string, unknown>;
    const mediaType = target.mediaType || (document.mediaType as string | undefined);
    if (!indexMediaTypes.has(mediaType ?? "") && !Array.isArray(document.manifests)) return document;
    const arch = ociArch[process.arch] ?? process.arch;
    const manifests = (document.manifests as Descriptor[] | undefined) ?? [];
    const match = manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === arch);
    if (!match) {
      throw new FsbError(ErrorCode.FailedPrecondition, `image ${name} has no manifest for linux/${arch}`);
    }
    return this.#manifestFor(name, match);
  }

  async #readJson(digest: string): Promise<unknown> {
    const chunks: Uint8Array[] = [];
    await containerdCall(`read content ${digest}`, async () => {
      for await (const chunk of this.#conn.content.read({ digest })) chunks.push(chunk.data);
    });
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (err) {
      throw new FsbError(ErrorCode.Internal, `content ${digest} is not valid JSON`, { cause: err });
    }
  }
}

function toImageConfig(raw: Record<string, unknown>): ImageConfig {
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s) => typeof s === "string") : undefined);
  const config: ImageConfig = {};
  const entrypoint = strings(raw.Entrypoint);
  const cmd = strings(raw.Cmd);
  const env = strings(raw.Env);
  if (entrypoint) config.entrypoint = entrypoint;
  if (cmd) config.cmd = cmd;
  if (env) config.env = env;
  if (typeof raw.WorkingDir === "string" && raw.WorkingDir) config.workingDir = raw.WorkingDir;
  if (typeof raw.User === "string" && raw.User) config.user = raw.User;
  return config;
}
