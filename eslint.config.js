// ESLint for thorbench: typescript-eslint's recommended rules, the type-aware rules that catch what the compiler
// does not (a promise nobody awaits, a value import used only as a type), and the workflow sandbox rule.
// Type information comes from the `typescript` package (TypeScript 6, which has the JS API typescript-eslint
// needs); the build itself uses the native TypeScript 7 compiler (`typescript-native`).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Workflow code runs in Temporal's deterministic sandbox and must not touch the OS, and schema/ and plan/ are pure
 * (the workflows import them). So these directories may import from each other, from zod and from Temporal's
 * workflow packages, but not Node's built-ins, process or database libraries, nor the modules that do side
 * effects (activities/, store/, server/, sim/) — except as types, which vanish at compile time. This is the
 * sandbox rule of Temporal's own TypeScript samples.
 */
const SANDBOXED = ['workflows/**/*.ts', 'schema/**/*.ts', 'plan/**/*.ts'];
const SANDBOX_MESSAGE =
  'workflows/, schema/ and plan/ must stay deterministic and free of side effects: import only types from here ' +
  '(docs/architecture.md, "Layers").';
const sandboxRule = [
  'error',
  {
    paths: [...builtinModules.filter((name) => !name.startsWith('_')), 'execa', 'better-sqlite3', 'pg'].map((name) => ({
      name,
      message: SANDBOX_MESSAGE,
      allowTypeImports: true,
    })),
    patterns: [
      { group: ['node:*'], message: SANDBOX_MESSAGE, allowTypeImports: true },
      { regex: '(^|/)(activities|store|server|sim)(/|$)', message: SANDBOX_MESSAGE, allowTypeImports: true },
    ],
  },
];

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'fixtures/',
      'test/histories/',
      'test/bad-experiments/',
      '.thorbench/',
      'results/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe() and it() return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `_`-prefixed names are deliberately unused (positional parameters, destructured-away fields).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: SANDBOXED,
    rules: { '@typescript-eslint/no-restricted-imports': sandboxRule },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly' } },
  },
);
