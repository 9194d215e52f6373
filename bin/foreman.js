#!/usr/bin/env node
// The `foreman` command (package.json `bin`): the compiled CLI when `dist/` is built (the production
// image, after `npm run build`), else the TypeScript source through tsx's ESM loader, so
// `npx foreman <command>` works straight after `npm ci`. FOREMAN_FROM_SOURCE=1 prefers the source.
import { existsSync } from "node:fs";
import process from "node:process";
import { URL } from "node:url";

const built = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(built) && process.env.FOREMAN_FROM_SOURCE !== "1") {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
