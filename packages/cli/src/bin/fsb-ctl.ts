/** Entry point of fsb-ctl (bin/fsb-ctl after `make build`); see ../main.ts. */
import { enableCompileCache } from "node:module";

// Every call starts a process: V8's code cache (under the OS temp dir) cuts a quarter of the start-up.
enableCompileCache();
const { main } = await import("../main.ts");
await main();
