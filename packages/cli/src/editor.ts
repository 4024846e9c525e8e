/** Opens the user's editor on a file and waits for it, the way git and kubectl do. */
import { spawnSync } from "node:child_process";

/** `$EDITOR`, else `vi`. Run through the shell so an editor with arguments (`code --wait`) works. */
export function editFile(file: string, env: Readonly<Record<string, string | undefined>>): void {
  const editor = env.EDITOR?.trim() || "vi";
  const result = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "sh", file], { stdio: "inherit" });
  if (result.error) throw new Error(`could not start the editor (${editor}): ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`the editor (${editor}) exited with ${result.status ?? result.signal}`);
}
