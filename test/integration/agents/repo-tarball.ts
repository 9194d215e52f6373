import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { c as createTar } from "tar";

/** A file of a fixture repository: text, or a mode/symlink variant. */
export type FixtureFile =
  string | { readonly content: string | Buffer; readonly executable?: boolean } | { readonly symlink: string };

/** The top-level directory GitHub puts in a tarball: owner-repo-sha. */
export const TARBALL_TOP_DIR = "octo-widgets-0123abc";

/** Builds a gzipped tarball shaped like GitHub's `GET /repos/{o}/{r}/tarball/{ref}` answer. */
export async function buildRepoTarball(files: Readonly<Record<string, FixtureFile>>): Promise<Buffer> {
  const root = await mkdtemp(join(tmpdir(), "foreman-tarball-"));
  try {
    for (const [path, file] of Object.entries(files)) {
      const target = join(root, TARBALL_TOP_DIR, path);
      await mkdir(dirname(target), { recursive: true });
      if (typeof file === "string") await writeFile(target, file);
      else if ("symlink" in file) await symlink(file.symlink, target);
      else {
        await writeFile(target, file.content);
        if (file.executable === true) await chmod(target, 0o755);
      }
    }
    await mkdir(join(root, TARBALL_TOP_DIR), { recursive: true });
    const chunks: Buffer[] = [];
    const stream = createTar({ gzip: true, cwd: root, portable: true }, [TARBALL_TOP_DIR]);
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
