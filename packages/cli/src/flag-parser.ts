/** Adapts a value parser to commander, so a bad flag value is reported as commander's usage error. */
import { InvalidArgumentError } from "commander";

/** Wraps `parse` (which throws a plain Error) for `.option(..., flagParser(parse))`. */
export function flagParser<A extends unknown[], T>(parse: (value: string, ...rest: A) => T) {
  return (value: string, ...rest: A): T => {
    try {
      return parse(value, ...rest);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A whole number ≥ 0, such as `--tail 20`. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new Error(`"${value}" is not a whole number`);
  return Number(value);
}
