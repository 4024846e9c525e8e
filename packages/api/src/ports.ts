/** The ports a sandbox exposes: validated here once so every later layer can trust the list. */
import { z } from "zod";

/** Most ports one sandbox may expose; each costs a forwarding rule, so the list is kept short. */
export const exposedPortsMaxCount = 64;

const portMessage = "must be a whole port number from 1 to 65535";

/** zod schema for one TCP port number, 1-65535. */
export const portSchema = z
  .number()
  .int({ error: portMessage })
  .min(1, { error: portMessage })
  .max(65535, { error: portMessage });

/**
 * zod schema for a sandbox's exposed ports: at most 64 distinct port numbers.
 * A duplicate is reported at the index of its second occurrence.
 */
export const exposedPortsSchema = z
  .array(portSchema)
  .max(exposedPortsMaxCount, {
    error: (issue) =>
      `must list at most ${exposedPortsMaxCount} ports (got ${Array.isArray(issue.input) ? issue.input.length : "more"})`,
  })
  .superRefine((ports, ctx) => {
    const firstIndex = new Map<number, number>();
    ports.forEach((port, index) => {
      const earlier = firstIndex.get(port);
      if (earlier === undefined) {
        firstIndex.set(port, index);
      } else {
        ctx.addIssue({
          code: "custom",
          path: [index],
          message: `port ${port} is listed twice (first at index ${earlier}); each port may appear once`,
        });
      }
    });
  });
