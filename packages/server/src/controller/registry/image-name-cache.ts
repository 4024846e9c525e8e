/** Memoised image-name normalisation: agents report the same few images on every probe and requests repeat them. */
import { normalizeImageName } from "@fast-sandbox/api";

/** Distinct names kept before the memo starts over; real clusters use far fewer images. */
const DEFAULT_LIMIT = 4096;

/** Normalises image references (`alpine` → `docker.io/library/alpine:latest`) and remembers valid results. */
export class ImageNameCache {
  readonly #memo = new Map<string, string>();
  readonly #limit: number;

  constructor(limit = DEFAULT_LIMIT) {
    this.#limit = limit;
  }

  /** The normalised name; throws INVALID_ARGUMENT naming `field` for a malformed reference. */
  normalize(reference: string, field = "image"): string {
    const known = this.#memo.get(reference);
    if (known !== undefined) return known;
    const normalized = normalizeImageName(reference, field);
    // Clearing instead of evicting one by one keeps this trivial; a full memo means junk input anyway.
    if (this.#memo.size >= this.#limit) this.#memo.clear();
    this.#memo.set(reference, normalized);
    return normalized;
  }

  /** The normalised name, or undefined for a malformed reference. */
  tryNormalize(reference: unknown): string | undefined {
    if (typeof reference !== "string") return undefined;
    try {
      return this.normalize(reference);
    } catch {
      return undefined;
    }
  }
}
