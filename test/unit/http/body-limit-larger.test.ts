import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import { guardRequestBodies } from "../../../src/http/body-limit.js";
import { ARCHIVE_UPLOAD_PATH } from "../../../src/http/job-archive-route.js";

let server: Server;
let port: number;

beforeEach(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  guardRequestBodies(server, 1024, { path: ARCHIVE_UPLOAD_PATH, maxBytes: 64 * 1024 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function post(path: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(Buffer.alloc(bytes));
  });
}

it("gives the Kubernetes jobs' upload route its own larger body limit, and only that route", async () => {
  expect(await post("/agent-jobs/j1/result", 32 * 1024)).toBe(204);
  expect(await post("/agent-jobs/j1/result", 128 * 1024)).toBe(413);
  expect(await post("/api/github/webhooks", 32 * 1024)).toBe(413);
  expect(await post("/agent-jobs/j1/workspace", 32 * 1024)).toBe(413);
});
