/** Where `fsb-ctl run NAME` keeps the last edit of each sandbox, so running it again starts from there. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** `$XDG_CACHE_HOME/fsb` when set, else `~/.fsb/cache`, next to the config. */
export function cacheDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  return env.XDG_CACHE_HOME ? path.join(env.XDG_CACHE_HOME, "fsb") : path.join(home, ".fsb", "cache");
}

/** The cached edit of one sandbox, keyed by namespace and name. */
export class EditCache {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = path.join(dir, "run");
  }

  file(namespace: string, name: string): string {
    return path.join(this.#dir, safeSegment(namespace), `${safeSegment(name)}.yaml`);
  }

  read(namespace: string, name: string): string | undefined {
    try {
      return readFileSync(this.file(namespace, name), "utf8");
    } catch {
      return undefined;
    }
  }

  write(namespace: string, name: string, text: string): void {
    const file = this.file(namespace, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

/** Names reach the file system before the server has validated them: keep them inside the cache. */
function safeSegment(segment: string): string {
  if (!/^[\w.-]+$/.test(segment) || segment === "." || segment === "..")
    throw new Error(`"${segment}" is not a valid sandbox name or namespace`);
  return segment;
}
