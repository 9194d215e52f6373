/**
 * The environment's database part: an external PostgreSQL, or the embedded one and its data
 * directory. Composed into `Env` by env.ts.
 */
import { z } from "zod";
import { optionalText } from "./env-fields.js";

/** PostgreSQL: `DATABASE_URL`, or the embedded server under `DATA_DIR`. */
export const DatabaseEnv = z.object({
  DATABASE_URL: optionalText.refine((url) => url === undefined || /^postgres(ql)?:\/\//.test(url), {
    error:
      "must be a postgres:// URL, e.g. postgres://foreman@db:5432/foreman (or unset it to use the embedded PostgreSQL)",
  }),
  DATA_DIR: z.string().default("./data"),
  EMBEDDED_POSTGRES_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535, { error: "must be a TCP port, 1-65535" })
    .default(5488),
});

/** The parsed database settings. */
export type DatabaseEnv = z.infer<typeof DatabaseEnv>;
