import slugify from "@sindresorhus/slugify";

const MAX_SLUG_LENGTH = 40;

/** The task's own branch, `agent/<number>-<slug>`: deterministic, so every retry finds the same branch. */
export function buildBranchName(prefix: string, issueNumber: number, issueTitle: string): string {
  const slug = slugify(issueTitle, { decamelize: false }).slice(0, MAX_SLUG_LENGTH).replace(/-+$/, "");
  return `${prefix}${issueNumber}${slug ? `-${slug}` : ""}`;
}
