/** A spinner for calls that may take a moment, drawn only when the output is a terminal. */

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 80;
/** A fast create answers in tens of milliseconds; drawing a spinner for that would only flicker. */
const SHOW_AFTER_MS = 150;

/** Runs `work`, showing `text` with a spinner on `stream` while it lasts (if `enabled`). */
export async function withSpinner<T>(
  stream: { write(text: string): unknown },
  enabled: boolean,
  text: string,
  work: Promise<T>,
): Promise<T> {
  if (!enabled) return work;
  let frame = 0;
  let drawn = false;
  let timer: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    timer = setInterval(() => {
      drawn = true;
      stream.write(`\r${FRAMES[frame++ % FRAMES.length]} ${text}`);
    }, FRAME_MS);
  }, SHOW_AFTER_MS);
  try {
    return await work;
  } finally {
    clearTimeout(delay);
    clearInterval(timer);
    if (drawn) stream.write("\r\x1b[K");
  }
}
