/** Reads or creates a secret token file with mode 0600, so local clients can find the token. */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/** 32 random bytes: far beyond guessing, and short enough to paste. */
const TOKEN_BYTES = 32;

/** Returns the token in `file`, creating the file with a fresh token if it is missing or empty. */
export async function ensureTokenFile(file: string): Promise<string> {
  const existing = (await readFile(file, "utf8").catch(() => "")).trim();
  if (existing) {
    await chmod(file, 0o600);
    return existing;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}
