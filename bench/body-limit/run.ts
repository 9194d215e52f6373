/**
 * What a stranger's oversized webhook costs Foreman: one POST to the webhook route with a bad
 * signature and a body of BENCH_BODY_MB (default 400) megabytes, streamed as fast as the socket
 * takes it. Prints the status, the seconds until the answer, and how much the process's RSS grew.
 * With the body limit (src/http/body-limit.ts) the answer is a 413 before the body is read.
 *
 *   npx tsx bench/body-limit/run.ts
 *
 * Needs PostgreSQL at DATABASE_URL (or an embedded one). Asserts nothing.
 */
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { openBenchDatabase } from "../lib/bench-database.js";
import { buildTestEnv, startTestForeman } from "../../test/helpers/test-foreman.js";

const MEGABYTES = Number(process.env.BENCH_BODY_MB ?? 400);

async function main(): Promise<void> {
  const bench = await openBenchDatabase();
  const foreman = await startTestForeman(bench.database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
  await foreman.server.start();
  try {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    const status = await postHuge(foreman.server.port, MEGABYTES * 1024 * 1024);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`POST of ${MEGABYTES} MB with a bad signature to the webhook route`);
    console.log(
      `answer ${status} after ${seconds.toFixed(2)} s; RSS grew by ${((peak - before) / 1024 / 1024).toFixed(0)} MB (peak)`,
    );
  } finally {
    await foreman.server.stop();
    await foreman.stop();
    await bench.close();
  }
}

// Sends the headers, then zeros until the server answers or the body is all sent.
function postHuge(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answered = 0;
    let raw = "";
    socket.on("data", (chunk) => {
      raw += chunk.toString("utf8");
      const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (match && answered === 0) {
        answered = Number(match[1]);
        resolve(answered);
        socket.destroy();
      }
    });
    socket.on("error", (error) => (answered === 0 ? reject(error) : undefined));
    socket.on("connect", () => {
      socket.write(
        `POST /api/github/webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          `x-github-event: issues\r\nx-github-delivery: bench\r\nx-hub-signature-256: sha256=${"0".repeat(64)}\r\n` +
          `content-length: ${bytes}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes && answered === 0 && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once("drain", pump);
        }
      };
      pump();
    });
  });
}

await main();
