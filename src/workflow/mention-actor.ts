/**
 * Who steered a task, as Foreman names them in what it writes on GitHub. A GitHub login is
 * mentioned (`@alice`); an operator acting from the `foreman` command line (`foreman tasks
 * stop|retry`, actor `operator:<name>`) is no GitHub account, so it is named without a mention.
 */

import { isOperatorActor, OPERATOR_ACTOR_PREFIX } from "./permissions.js";

/** `@login` for a GitHub user; `operator <name>` (no mention, which would ping someone else) for an operator. */
export function mentionActor(login: string): string {
  return isOperatorActor(login) ? `operator ${login.slice(OPERATOR_ACTOR_PREFIX.length)}` : `@${login}`;
}

/** How the actor gave a command: the comment (`/foreman stop`) or, for an operator, the command line (`foreman tasks stop`). */
export function nameCommand(login: string, command: string): string {
  return isOperatorActor(login) ? `\`foreman tasks ${command}\`` : `\`/foreman ${command}\``;
}
