// The compiled build for bench/load/run.ts, fresh from src/ (never a stale dist/): `tsc -p
// tsconfig.build.json` into a temporary directory laid out as the production image is (dist/ beside
// migrations/, prompts/, ui/, app.yml, package.json and node_modules, here symlinks to this checkout),
// since dist/ resolves ../../migrations, ../../prompts and ../../ui.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BESIDE_DIST = ["migrations", "prompts", "ui", "app.yml", "package.json", "node_modules"];

/** A fresh build: `entry` is its dist/cli/main.js (the production image's `node dist/cli/main.js serve`). */
export interface DistBuild {
  root: string;
  entry: string;
  seconds: number;
  remove(): void;
}

/** Compile src/ into a temporary directory beside links to what dist/ reads at run time. */
export async function buildDist(): Promise<DistBuild> {
  const root = mkdtempSync(join(tmpdir(), "foreman-dist-"));
  for (const name of BESIDE_DIST) symlinkSync(join(ROOT, name), join(root, name));
  const started = performance.now();
  const tsc = spawn(
    process.execPath,
    [
      join(ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      join(ROOT, "tsconfig.build.json"),
      "--outDir",
      join(root, "dist"),
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const code = await new Promise<number | null>((resolve) => tsc.once("exit", resolve));
  if (code !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`tsc -p tsconfig.build.json ended with ${code}`);
  }
  return {
    root,
    entry: join(root, "dist/cli/main.js"),
    seconds: (performance.now() - started) / 1000,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
