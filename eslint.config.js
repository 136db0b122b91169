// Lint (npm run lint, run by .ci/run): the TigerBeetle-style limits the code keeps —
// functions of at most 70 lines, lines of at most 120 columns — and no unused code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'assembly/**', 'test/browser/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'native/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true, IIFEs: true }],
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Tests: a test body is one scenario read top to bottom, and a table row is one line:
    // neither limit applies; unused code and the recommended rules still do.
    files: ['test/**/*.ts'],
    // A test captures the socket a client made (`ws = this` in a subclass): no-this-alias off.
    rules: { 'max-lines-per-function': 'off', 'max-len': 'off', '@typescript-eslint/no-this-alias': 'off' },
  },
  {
    // The web console (docs/console.md): plain browser modules, held to the same limits.
    files: ['console/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(['window', 'document', 'location', 'localStorage', 'fetch', 'setTimeout',
        'setInterval', 'clearTimeout', 'console'].map((g) => [g, 'readonly'])),
    },
    rules: {
      'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true, IIFEs: true }],
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // The runnable examples (CI runs them): plain Node scripts.
    files: ['examples/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', performance: 'readonly' },
    },
  },
  {
    // Child processes the tests start: plain Node scripts.
    files: ['test/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', URL: 'readonly' },
    },
  },
);
