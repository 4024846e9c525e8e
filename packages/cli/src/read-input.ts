/**
 * Reads a `-f` argument: a file, or stdin for `-`. Stdin is read as a stream, because a pipe from
 * another process may be non-blocking, and a synchronous read of it fails with EAGAIN.
 */
import { readFile } from "node:fs/promises";
import { CliError } from "./cli-error.ts";

export interface Input {
  /** What to call it in a message: the path, or `stdin`. */
  source: string;
  text: string;
}

export async function readInput(file: string, stdin: NodeJS.ReadableStream): Promise<Input> {
  const source = file === "-" ? "stdin" : file;
  try {
    return { source, text: file === "-" ? await readStream(stdin) : await readFile(file, "utf8") };
  } catch (err) {
    throw new CliError(
      `cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
