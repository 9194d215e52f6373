// ESLint, type-aware (typescript-eslint). Formatting is Prettier's job; layering is
// dependency-cruiser's (.dependency-cruiser.cjs). These rules catch what neither does: promises
// nobody awaits, async callbacks where a plain one is expected, switches that miss a case of a
// closed union, and type-only imports written as value imports.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "coverage/", "data/", "node_modules/", "migrations/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      // Tests and payload helpers handle GitHub's untyped JSON.
      "@typescript-eslint/no-explicit-any": "off",
      // Foreman matches terminal control characters on purpose: it strips them from CI logs and untrusted text.
      "no-control-regex": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    // The dashboard's own browser script (served at /ui/assets/), with uPlot loaded before it.
    files: ["ui/assets/**/*.js"],
    languageOptions: { sourceType: "script", globals: { document: "readonly", fetch: "readonly", uPlot: "readonly" } },
  },
);
