import type { Octokit } from "@octokit/rest";

/** The slice of Octokit that reading the app needs: the app's own client (app JWT). */
export type AppReader = { readonly rest: { readonly apps: Pick<Octokit["rest"]["apps"], "getAuthenticated"> } };

/**
 * The login GitHub gives the app's pushes, comments and reviews: `<slug>[bot]` (`GET /app`). The
 * `sender` of a `synchronize` for a commit Foreman pushed is this login.
 */
export async function readAppBotLogin(octokit: AppReader): Promise<string> {
  const { data } = await octokit.rest.apps.getAuthenticated();
  const slug = data?.slug;
  if (!slug) throw new Error("GET /app answered without the app's slug.");
  return `${slug}[bot]`;
}
