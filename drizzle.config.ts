import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes a new migration into migrations/ from src/db/schema.ts.
// Migrations are never edited after they land on main; change the schema and generate a new one.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
