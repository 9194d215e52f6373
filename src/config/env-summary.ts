/**
 * The environment's daily-summary part (docs/operations.md#daily-summaries-and-per-template-statistics):
 * the webhook, the email recipients and sender, the hour, and the SMTP server. Composed into `Env`
 * by env.ts.
 */
import { z } from "zod";
import { intInRange, optionalText, splitList } from "./env-fields.js";

// Loose on purpose: the SMTP server is the judge; this catches a name or a URL put there by mistake.
const EMAIL_ADDRESS = /^[^\s@,<>]+@[^\s@,<>]+$/;

/** The daily summaries: where they go and when. */
export const SummaryEnv = z.object({
  /** Daily summaries (docs/operations.md#daily-summaries-and-per-template-statistics): POST the JSON here. */
  SUMMARY_WEBHOOK_URL: z
    .url({ error: "must be a URL such as https://chat.example.com/hooks/foreman-summary" })
    .optional(),
  /** Signs the summary webhook's body (`X-Foreman-Signature: sha256=<HMAC-SHA256 hex>`). */
  SUMMARY_WEBHOOK_SECRET: optionalText,
  /** Comma-separated addresses that get the summary by email. */
  SUMMARY_EMAIL_TO: optionalText.superRefine((text, context) => {
    if (text === undefined) return;
    const bad = splitList(text).filter((address) => !EMAIL_ADDRESS.test(address));
    if (bad.length > 0 || splitList(text).length === 0)
      context.addIssue({
        code: "custom",
        message: `must be comma-separated email addresses, e.g. ops@example.com,lead@example.com${bad.length > 0 ? ` (not an address: ${bad.join(", ")})` : ""}`,
      });
  }),
  SUMMARY_EMAIL_FROM: optionalText,
  /** The UTC hour from which yesterday's summary is sent. */
  SUMMARY_HOUR_UTC: intInRange(0, 23, "must be an hour, 0-23 (UTC)", 6),
  /** The SMTP server for summary emails: a URL (`smtp://user:pass@host:587`, `smtps://…`), or the SMTP_HOST… parts. */
  SMTP_URL: optionalText.refine((url) => url === undefined || /^smtps?:\/\//.test(url), {
    error: "must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587",
  }),
  SMTP_HOST: optionalText,
  SMTP_PORT: intInRange(1, 65535, "must be a TCP port, 1-65535", 587),
  /** TLS from the start (port 465); otherwise STARTTLS is used when the server offers it. */
  SMTP_SECURE: z.stringbool({ error: "must be true or false" }).default(false),
  SMTP_USER: optionalText,
  SMTP_PASS: optionalText,
});

/** The parsed summary settings. */
export type SummaryEnv = z.infer<typeof SummaryEnv>;

/** The addresses of `SUMMARY_EMAIL_TO`. */
export function listSummaryRecipients(env: Pick<SummaryEnv, "SUMMARY_EMAIL_TO">): string[] {
  return env.SUMMARY_EMAIL_TO === undefined ? [] : splitList(env.SUMMARY_EMAIL_TO);
}
