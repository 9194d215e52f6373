/**
 * Who steered a task, as Foreman names them in what it writes on GitHub. A GitHub login is
 * mentioned (`@alice`); an operator acting from the `foreman` command line (`foreman tasks
 * stop|retry`, actor `operator:<name>`) is no GitHub account, so it is named without a mention.
 */

/** The prefix of an operator's actor name: `operator:<OS user or --as name>`. */
export const OPERATOR_ACTOR_PREFIX = "operator:";

/** `@login` for a GitHub user; `operator <name>` (no mention, which would ping someone else) for an operator. */
export function mentionActor(login: string): string {
  return login.startsWith(OPERATOR_ACTOR_PREFIX)
    ? `operator ${login.slice(OPERATOR_ACTOR_PREFIX.length)}`
    : `@${login}`;
}

/** How the actor gave a command: the comment (`/foreman stop`) or, for an operator, the command line (`foreman tasks stop`). */
export function nameCommand(login: string, command: string): string {
  return login.startsWith(OPERATOR_ACTOR_PREFIX) ? `\`foreman tasks ${command}\`` : `\`/foreman ${command}\``;
}
