/** The Fast Sandbox version, from the repository's package.json, read once. */
import { readFileSync } from "node:fs";
import path from "node:path";

const manifest = path.resolve(import.meta.dirname, "../../../../package.json");

export const VERSION: string = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
