/**
 * The environment's compliance and retention part: how long operational rows are kept, where
 * artifacts go, checkpoint signing and publishing, and the change hook. Composed into `Env` by
 * env.ts.
 */
import { z } from "zod";
import { loadCheckpointSigner, loadPublicKeys } from "../chain/checkpoints.js";
import { optionalText, positiveInt } from "./env-fields.js";

/** The shortest retention: GitHub's 3-day redelivery window plus 4 days of margin. */
export const MIN_RETENTION_DAYS = 7;
/** The retention when RETENTION_DAYS is not set. */
export const DEFAULT_RETENTION_DAYS = 30;

// A PEM key that must load; the loader's message says what is wrong in plain words.
const pemKey = (load: (pem: string) => unknown) =>
  optionalText.superRefine((pem, context) => {
    if (pem === undefined) return;
    try {
      load(pem);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

/** Retention, the compliance trail's artifacts and checkpoints, and the change hook. */
export const ComplianceEnv = z.object({
  /**
   * Days processed inbox rows, finished effects of ended tasks, job logs, delivered outbound hooks,
   * check suites of no task and expired API idempotency keys are kept before the sweep prunes them;
   * `off` keeps everything. Compliance records, their artifacts and a task's check suites are never pruned.
   */
  RETENTION_DAYS: z
    .string()
    .trim()
    .default(String(DEFAULT_RETENTION_DAYS))
    .transform((text, context) => {
      if (text.toLowerCase() === "off") return null;
      const days = Number(text);
      if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
        context.addIssue({
          code: "custom",
          message: `must be a whole number of days of at least ${MIN_RETENTION_DAYS}, or off: GitHub may redeliver a webhook for 3 days and the inbox's dedupe keys are what make a redelivery harmless, so they are kept that long plus a margin (got "${text}"; set RETENTION_DAYS=${DEFAULT_RETENTION_DAYS}, or off to keep everything)`,
        });
        return z.NEVER;
      }
      return days;
    }),
  ARTIFACTS_DIR: optionalText,
  CHECKPOINT_SIGNING_KEY: pemKey(loadCheckpointSigner),
  CHECKPOINT_PUBLIC_KEY: pemKey(loadPublicKeys),
  CHECKPOINT_EVERY_RECORDS: positiveInt(100),
  CHECKPOINT_EVERY_MINUTES: positiveInt(15),
  CHECKPOINT_PUBLISH_URL: z
    .url({ error: "must be a URL such as https://transparency.example.com/foreman/checkpoints" })
    .optional(),
  CHANGE_HOOK_URL: z.url({ error: "must be a URL such as https://change.example.com/hooks/foreman" }).optional(),
  CHANGE_HOOK_SECRET: optionalText,
});

/** The parsed compliance settings. */
export type ComplianceEnv = z.infer<typeof ComplianceEnv>;
