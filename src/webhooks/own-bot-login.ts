/**
 * Foreman's own bot login, read from GitHub once per process and kept: a process serves one app. A
 * failed read is not kept, so the next delivery that needs it asks again.
 */
export function cacheOwnBotLogin(read: () => Promise<string>): () => Promise<string> {
  let login: Promise<string> | null = null;
  return () => {
    login ??= read().catch((error: unknown) => {
      login = null;
      throw error;
    });
    return login;
  };
}

/**
 * Whether a `synchronize` was pushed by Foreman's own app. Only a Bot sender can be; a person's push
 * never costs the read of the app's login.
 */
export async function isOwnAppSender(
  sender: { login: string; type?: string | undefined } | null | undefined,
  ownBotLogin: () => Promise<string>,
): Promise<boolean> {
  if (!sender || sender.type !== "Bot") return false;
  return sender.login === (await ownBotLogin());
}
