import type { Transporter } from "nodemailer";

/** One summary email. */
export interface SummaryMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The same for every attempt, so a mail client shows a resent summary once. */
  messageId: string;
}

/** What sends summary emails: nodemailer's SMTP transport in production (`createSmtpMailer`). */
export interface SummaryMailer {
  send(mail: SummaryMail): Promise<void>;
  close(): void;
}

/** How to reach the SMTP server: an `smtp://` / `smtps://` URL, or its parts. */
export type SmtpSettings =
  | { url: string }
  | { host: string; port: number; secure: boolean; user?: string | undefined; pass?: string | undefined };

/**
 * A mailer over nodemailer's SMTP transport; each send waits for the server's answer and throws on
 * refusal. nodemailer is loaded at the first send (~15 MB of RSS a replica without email keeps).
 */
export function createSmtpMailer(settings: SmtpSettings, timeoutMs = 30_000): SummaryMailer {
  const timeouts = { connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs };
  let transport: Promise<Transporter> | null = null;
  const openTransport = (): Promise<Transporter> =>
    (transport ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        ...("url" in settings
          ? { url: settings.url }
          : {
              host: settings.host,
              port: settings.port,
              secure: settings.secure,
              ...(settings.user ? { auth: { user: settings.user, pass: settings.pass ?? "" } } : {}),
            }),
        ...timeouts,
      }),
    ));
  return {
    async send(mail) {
      await (
        await openTransport()
      ).sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
      });
    },
    close() {
      void transport?.then(
        (opened) => opened.close(),
        () => {},
      );
    },
  };
}
