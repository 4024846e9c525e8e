/** Terminal colours: only on a TTY, never for JSON, and never when NO_COLOR is set. */

export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain = (text: string) => text;

/** See https://no-color.org: any non-empty NO_COLOR turns colour off. */
export function createStyle(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
  format?: string,
): Style {
  const enabled = stream.isTTY === true && !env.NO_COLOR && format !== "json";
  if (!enabled) return { enabled, bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
  };
}

/** A phase in the colour of its health: green running or succeeded, red failed or lost, yellow on its way. */
export function colourPhase(style: Style, phase: string): string {
  if (phase === "Running" || phase === "Succeeded") return style.green(phase);
  if (phase === "Failed" || phase === "Lost") return style.red(phase);
  if (phase === "Pending" || phase === "Bound" || phase === "Terminating") return style.yellow(phase);
  return phase;
}
