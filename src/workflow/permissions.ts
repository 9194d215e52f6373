/**
 * Who may do what, in one place. GitHub reports a collaborator's role twice: `role_name` (admin,
 * maintain, write, triage, read, or the name of an organisation's custom role) and the legacy
 * `permission` (admin, write, read, none), which folds maintain into write and triage into read,
 * and gives a custom role its base permission.
 */

/** A person's role on a repository, as GitHub reported it; `role` is `none` for a non-collaborator. */
export interface RepoRole {
  role: string;
  permission: string;
}

/** GitHub's built-in roles, weakest first; any other `role_name` is a custom role. */
export const BUILT_IN_ROLES: readonly string[] = Object.freeze([
  "none",
  "read",
  "triage",
  "write",
  "maintain",
  "admin",
]);

/** Built-in roles that may start, freeze or cancel a task by label: triage and above. */
const LABELLING_ROLES: readonly string[] = Object.freeze(["triage", "write", "maintain", "admin"]);

/** Built-in roles that may steer a task (commands, a review asking for changes, retry): write and above. */
const STEERING_ROLES: readonly string[] = Object.freeze(["write", "maintain", "admin"]);

/** Legacy permissions that carry write access (a custom role based on write or admin). */
const WRITE_PERMISSIONS: readonly string[] = Object.freeze(["write", "admin"]);

/** The role a person has when GitHub says they are not a collaborator (404). */
export const NO_ROLE: RepoRole = Object.freeze({ role: "none", permission: "none" });

/**
 * GitHub's `author_association` values that mark someone the repository let in: its owner, a
 * member of its organisation, an invited collaborator. Everyone else (CONTRIBUTOR,
 * FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE) is a stranger to it.
 */
const TRUSTED_ASSOCIATIONS: readonly string[] = Object.freeze(["OWNER", "MEMBER", "COLLABORATOR"]);

/** How the text of a comment may reach an agent: as the team's word, or as a stranger's, quoted and labelled (or left out). */
export type CommentTrust = "trusted" | "untrusted";

/**
 * Judge a comment by the `author_association` GitHub gives it (no extra read per commenter): the
 * repository's owner, its organisation's members and its collaborators are trusted; anyone else's
 * comment is untrusted. Unknown values are untrusted.
 */
export function judgeCommentAssociation(association: string): CommentTrust {
  return TRUSTED_ASSOCIATIONS.includes(association.toUpperCase()) ? "trusted" : "untrusted";
}

/** Whether this role may start a task with an agent label: triage or more, or a custom role based on write or admin. */
export function mayStartTask(role: RepoRole): boolean {
  return LABELLING_ROLES.includes(role.role) || WRITE_PERMISSIONS.includes(role.permission);
}

/**
 * Whether this role may steer a task: `/foreman` commands, a review that asks for changes, and a
 * `/foreman retry` that starts a new task. Write, maintain or admin, or a custom role based on
 * write or admin; never triage or read.
 */
export function maySteerTask(role: RepoRole): boolean {
  if (BUILT_IN_ROLES.includes(role.role)) return STEERING_ROLES.includes(role.role);
  return WRITE_PERMISSIONS.includes(role.permission);
}

/**
 * The prefix of an actor who acted through Foreman's API (`api:<token name>`). A colon never occurs
 * in a GitHub login, so such an actor cannot be mistaken for a person on GitHub.
 */
export const API_ACTOR_PREFIX = "api:";

/**
 * The role an API actor has: Foreman checked the token's role (operator or admin) before it
 * produced the event, so GitHub is not asked about a login it does not know.
 */
export const API_ACTOR_ROLE: RepoRole = Object.freeze({ role: "write", permission: "api-token" });

/** Whether an actor acted through Foreman's API rather than on GitHub. */
export function isApiActor(login: string): boolean {
  return login.startsWith(API_ACTOR_PREFIX);
}

/**
 * The prefix of an operator acting from the `foreman` command line (`operator:<OS user or --as
 * name>`). Like the API's, it holds a colon, which no GitHub login has.
 */
export const OPERATOR_ACTOR_PREFIX = "operator:";

/**
 * The role an operator has: whoever can reach Foreman's database runs it, so GitHub is not asked
 * about a login it does not know.
 */
export const OPERATOR_ACTOR_ROLE: RepoRole = Object.freeze({ role: "admin", permission: "database" });

/** Whether an actor is an operator at the `foreman` command line rather than a person on GitHub. */
export function isOperatorActor(login: string): boolean {
  return login.startsWith(OPERATOR_ACTOR_PREFIX);
}

/**
 * The role of an actor Foreman trusts by its own credential (an API token's role, access to the
 * database): `API_ACTOR_ROLE` or `OPERATOR_ACTOR_ROLE`; null for a GitHub login, whose role only
 * GitHub knows.
 */
export function findTrustedActorRole(login: string): RepoRole | null {
  if (isApiActor(login)) return API_ACTOR_ROLE;
  if (isOperatorActor(login)) return OPERATOR_ACTOR_ROLE;
  return null;
}
