import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { EnvError, listSecretValues, listSummaryRecipients, parseEnv } from "../../../src/config/env.js";

function problemsOf(source: Record<string, string>): string[] {
  try {
    parseEnv({ AGENTS_ENABLED: "false", ...source });
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  throw new Error("expected parseEnv to refuse");
}

describe("daily summary settings", () => {
  test("defaults: no summary, sent from 06:00 UTC, SMTP on port 587 with STARTTLS", () => {
    const env = parseEnv({ AGENTS_ENABLED: "false" });
    expect(env).toMatchObject({ SUMMARY_HOUR_UTC: 6, SMTP_PORT: 587, SMTP_SECURE: false });
    expect([env.SUMMARY_WEBHOOK_URL, env.SUMMARY_EMAIL_TO, env.SMTP_URL]).toEqual([undefined, undefined, undefined]);
    expect(listSummaryRecipients(env)).toEqual([]);
  });

  test("recipients are a comma-separated list; the SMTP URL and secrets may come from files and are redacted", () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-env-"));
    writeFileSync(join(dir, "smtp"), "smtp://mailer:s3cret%21@mail.example.com:587\n");
    writeFileSync(join(dir, "hook"), "summary-hook-secret\n");
    const env = parseEnv({
      AGENTS_ENABLED: "false",
      SUMMARY_EMAIL_TO: " ops@example.com , lead@example.com",
      SUMMARY_EMAIL_FROM: "Foreman <foreman@example.com>",
      SMTP_URL_FILE: join(dir, "smtp"),
      SUMMARY_WEBHOOK_URL: "https://chat.example.com/hooks/summary",
      SUMMARY_WEBHOOK_SECRET_FILE: join(dir, "hook"),
    });
    expect(listSummaryRecipients(env)).toEqual(["ops@example.com", "lead@example.com"]);
    expect(env.SMTP_URL).toBe("smtp://mailer:s3cret%21@mail.example.com:587");
    expect(listSecretValues(env)).toEqual(expect.arrayContaining(["summary-hook-secret", "s3cret%21", "s3cret!"]));
  });

  test("each wrong combination names the setting and the fix", () => {
    expect(problemsOf({ SUMMARY_EMAIL_TO: "ops@example.com", SUMMARY_EMAIL_FROM: "f@example.com" })).toEqual([
      "SMTP_URL: SUMMARY_EMAIL_TO is set but no mail server is; set SMTP_URL (or SMTP_URL_FILE), or SMTP_HOST with SMTP_PORT, SMTP_USER and SMTP_PASS",
    ]);
    expect(problemsOf({ SUMMARY_EMAIL_TO: "ops@example.com", SMTP_HOST: "mail.example.com" })).toEqual([
      "SUMMARY_EMAIL_FROM: SUMMARY_EMAIL_TO is set but not the sender; set SUMMARY_EMAIL_FROM, e.g. Foreman <foreman@example.com>",
    ]);
    expect(problemsOf({ SMTP_URL: "smtp://mail.example.com", SMTP_HOST: "mail.example.com" })).toEqual([
      "SMTP_HOST: SMTP_URL is set too; keep one of them (the URL or the SMTP_HOST… parts)",
    ]);
    expect(problemsOf({ SUMMARY_WEBHOOK_SECRET: "s" })).toEqual([
      "SUMMARY_WEBHOOK_URL: SUMMARY_WEBHOOK_SECRET is set but there is no webhook to sign; set SUMMARY_WEBHOOK_URL or unset the secret",
    ]);
  });

  test("bad values are refused with an example", () => {
    expect(problemsOf({ SUMMARY_HOUR_UTC: "24" })).toEqual(['SUMMARY_HOUR_UTC="24": must be an hour, 0-23 (UTC)']);
    expect(problemsOf({ SUMMARY_EMAIL_TO: "ops@example.com, Ops Team" })[0]).toBe(
      'SUMMARY_EMAIL_TO="ops@example.com, Ops Team": must be comma-separated email addresses, e.g. ops@example.com,lead@example.com (not an address: Ops Team)',
    );
    expect(problemsOf({ SMTP_URL: "mail.example.com:25" })[0]).toBe(
      "SMTP_URL=(hidden): must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587",
    );
  });
});
