/**
 * File transfer throughput: a 100 MB upload and download through the API (sandbox.files.upload and
 * download: SDK → controller → agent → busybox inside the sandbox), against `cat` through a local
 * pipe in the same run (the floor: one process copying bytes from one pipe to another).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Sandbox } from "@fast-sandbox/sdk";

/** What the issue asks for: 100 MB each way. */
export const TRANSFER_BYTES = 100 * 1000 * 1000;
/** The content goes out in pieces of this size, the same for every path. */
const PIECE_BYTES = 64 * 1024;
const BYTES_PER_MB = 1000 * 1000;
const REMOTE_PATH = "/tmp/bench-100mb.bin";

export type TransferPath = "upload" | "download" | "cat pipe";

export interface ThroughputSample {
  path: TransferPath;
  /** MB/s (10^6 bytes) of each run, in run order. */
  mbPerSecond: number[];
}

/** The same bytes for every run and path: a random piece repeated (busybox does not compress). */
function* content(piece: Buffer): Generator<Buffer> {
  let left = TRANSFER_BYTES;
  while (left > 0) {
    const n = Math.min(left, piece.length);
    yield n === piece.length ? piece : piece.subarray(0, n);
    left -= n;
  }
}

async function* asyncContent(piece: Buffer): AsyncGenerator<Buffer> {
  yield* content(piece);
}

function rate(bytes: number, ms: number): number {
  return bytes / BYTES_PER_MB / (ms / 1000);
}

async function timeUpload(box: Sandbox, piece: Buffer): Promise<number> {
  const started = performance.now();
  await box.files.upload(REMOTE_PATH, asyncContent(piece));
  return rate(TRANSFER_BYTES, performance.now() - started);
}

async function timeDownload(box: Sandbox): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for await (const chunk of await box.files.download(REMOTE_PATH)) bytes += chunk.length;
  const elapsed = performance.now() - started;
  if (bytes !== TRANSFER_BYTES) throw new Error(`download gave ${bytes} bytes, not ${TRANSFER_BYTES}`);
  return rate(bytes, elapsed);
}

/** The floor: the same bytes written into `cat`'s stdin and read from its stdout by this process. */
async function timeCatPipe(piece: Buffer): Promise<number> {
  const started = performance.now();
  const cat = spawn("cat", [], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve, reject) => {
    cat.once("error", reject);
    cat.once("close", resolve);
  });
  let bytes = 0;
  const read = (async () => {
    for await (const chunk of cat.stdout as AsyncIterable<Buffer>) bytes += chunk.length;
  })();
  for (const part of content(piece)) {
    if (!cat.stdin.write(part)) await new Promise((r) => cat.stdin.once("drain", r));
  }
  cat.stdin.end();
  await read;
  const code = await exited;
  const elapsed = performance.now() - started;
  if (code !== 0 || bytes !== TRANSFER_BYTES) throw new Error(`cat exited ${code} after ${bytes} bytes`);
  return rate(bytes, elapsed);
}

/** `runs` rounds of upload, download and the cat floor, in turn. */
export async function measureThroughput(
  box: Sandbox,
  runs: number,
  signal: AbortSignal,
  say: (message: string) => void,
): Promise<ThroughputSample[]> {
  const samples: Record<TransferPath, number[]> = { upload: [], download: [], "cat pipe": [] };
  const result = () =>
    (Object.keys(samples) as TransferPath[]).map((path) => ({ path, mbPerSecond: samples[path] }));
  if (runs === 0) return result();
  const piece = randomBytes(PIECE_BYTES);
  for (let i = 0; i < runs; i++) {
    signal.throwIfAborted();
    samples["cat pipe"].push(await timeCatPipe(piece));
    samples.upload.push(await timeUpload(box, piece));
    samples.download.push(await timeDownload(box));
    say(`throughput: ${i + 1}/${runs} rounds`);
  }
  await box.files.remove(REMOTE_PATH);
  return result();
}
