/**
 * A first program against Fast Sandbox: create a sandbox, read its output, and delete it.
 *
 *   npm start                               # in another terminal
 *   node_modules/.bin/node examples/quickstart.ts
 *
 * The client finds the endpoint and token the way fsb-ctl does: FSB_ENDPOINT / FSB_TOKEN, or the
 * ./.fsb/config.yaml that `npm start` writes.
 */
import { CapacityError, FastSandbox } from "@fast-sandbox/sdk";

const fsb = new FastSandbox();
const name = `quickstart-${process.pid}`;

try {
  const box = await fsb.sandboxes.create({
    name,
    image: "busybox",
    command: ["sh", "-c", "echo hello from $(hostname); sleep 1; echo bye"],
    labels: { example: "quickstart" },
  });
  console.log(`created ${box.name} (${box.id}) on ${box.agent}: ${box.phase}`);

  // Follow the output until the process exits.
  for await (const text of box.logs({ follow: true })) process.stdout.write(text);

  // A process that exits 0 is Succeeded (any other exit is Failed).
  await box.waitUntil((d) => d.phase === "Succeeded" || d.phase === "Failed", { timeoutMs: 10_000 });
  console.log(`${box.phase}: exited with code ${box.details.exitCode}`);
  await box.delete({ wait: true, timeoutMs: 30_000 });
  console.log("deleted");
} catch (err) {
  if (err instanceof CapacityError) console.error(`no room: ${err.message} (${err.hint})`);
  else throw err;
  process.exitCode = 1;
}
