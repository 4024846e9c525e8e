/** The output an exec'd process wrote while nobody read it: at most a fixed number of bytes, oldest dropped first (pure). */

export type OutputStream = "stdout" | "stderr";

/** One read from one of a process's streams. */
export interface OutputChunk {
  stream: OutputStream;
  data: Buffer;
}

/** What a reader gets when it takes the buffer: how much was dropped before these chunks, and the chunks. */
export interface TakenOutput {
  dropped: number;
  chunks: OutputChunk[];
}

/** Keeps the newest `capacity` bytes of output in order, and counts the bytes it had to drop. */
export class OutputBuffer {
  readonly capacity: number;
  #chunks: OutputChunk[] = [];
  /** Index of the oldest kept chunk in #chunks (dropping from the front is O(1)). */
  #head = 0;
  #size = 0;
  #dropped = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes kept now. */
  get size(): number {
    return this.#size;
  }

  /** Bytes dropped since the last {@link take}. */
  get dropped(): number {
    return this.#dropped;
  }

  push(stream: OutputStream, data: Buffer): void {
    if (data.length === 0) return;
    if (data.length >= this.capacity) {
      // This chunk alone fills the buffer: everything older goes, and the chunk keeps its tail.
      this.#dropped += this.#size + data.length - this.capacity;
      this.#chunks = [{ stream, data: data.subarray(data.length - this.capacity) }];
      this.#head = 0;
      this.#size = this.capacity;
      return;
    }
    this.#chunks.push({ stream, data });
    this.#size += data.length;
    while (this.#size > this.capacity) {
      const oldest = this.#chunks[this.#head] as OutputChunk;
      const excess = this.#size - this.capacity;
      if (oldest.data.length <= excess) {
        this.#head += 1;
        this.#size -= oldest.data.length;
        this.#dropped += oldest.data.length;
      } else {
        oldest.data = oldest.data.subarray(excess);
        this.#size -= excess;
        this.#dropped += excess;
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Empties the buffer, returning what it held and how much was dropped before it. */
  take(): TakenOutput {
    const taken = { dropped: this.#dropped, chunks: this.#chunks.slice(this.#head) };
    this.#chunks = [];
    this.#head = 0;
    this.#size = 0;
    this.#dropped = 0;
    return taken;
  }
}
