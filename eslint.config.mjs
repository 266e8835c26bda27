// ESLint for the TypeScript workspaces (kernel-bridge, lab-extension,
// test/browser): the recommended JavaScript and typescript-eslint rules.
// Formatting is Prettier's (.prettierrc.json); `npm run lint` checks both.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/lib/**",
      "**/node_modules/**",
      "build/**",
      "lab-extension/torchclad_labextension/**",
      "**/*.js",
      "**/*.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // unused names are TypeScript's (noUnusedLocals/Parameters); `_x` marks an unused one on purpose
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // tests build partial fakes of JupyterLab and JSROOT objects; plotly.js has no types of its own
    files: ["**/*.spec.ts", "**/__tests__/**/*.ts", "**/*.d.ts", "kernel-bridge/test/**/*.ts", "test/browser/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
