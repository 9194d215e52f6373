// The comparison of bench/load/run.ts: a bare Probot app (the same Probot as Foreman's, one no-op
// `issues` handler, logging silenced as Foreman's is) in a process of its own, started the same way
// (`node --import tsx`). Prints "port <n>" once it listens, then runs until killed.
import { generateKeyPairSync } from "node:crypto";
import { pino } from "pino";
import { Probot, Server } from "probot";

const secret = process.env.FOREMAN_LOAD_SECRET;
if (!secret) throw new Error("FOREMAN_LOAD_SECRET is not set");
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const log = pino({ level: "fatal" });
const server = new Server({
  Probot: Probot.defaults({ appId: 12345, privateKey, secret, log }),
  host: "127.0.0.1",
  // As Foreman does: the string "0" reaches listen(), which picks a free port.
  port: "0" as unknown as number,
  log,
  enableStaticFiles: false,
});
await server.load((app) => {
  app.on("issues", async () => {});
});
await server.start();
process.stdout.write(`port ${server.port}\n`);
