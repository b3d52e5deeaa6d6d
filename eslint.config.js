// Type-aware lint: the async rules (floating/misused promises) are errors, as the project requires.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const CORE_FORBIDDEN = ['node:*', '!node:crypto', 'better-sqlite3', 'mqtt', 'pg', 'hono', '../adapters/*', '../../adapters/*', '../../../adapters/*', '../engine/*', '../../engine/*', '../../../engine/*'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'vitest.config.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The pure core must not reach into I/O: no drivers, no node: modules, no adapters or engine.
    // Config is zod: the core's code takes its settings' types only (type imports are erased); its
    // tests may parse a config.
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: CORE_FORBIDDEN }] }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: CORE_FORBIDDEN }, { group: ['../config/*', '../../config/*', '../../../config/*'], allowTypeImports: true, message: 'the core may import only types from config/' }] },
      ],
    },
  },
  { files: ['eslint.config.js', 'vitest.config.ts'], ...tseslint.configs.disableTypeChecked },
);
