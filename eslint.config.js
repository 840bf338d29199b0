import {includeIgnoreFile} from '@eslint/compat'
import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const gitignorePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '.gitignore')

export default [
  includeIgnoreFile(gitignorePath),
  ...oclif,
  prettier,
  {
    rules: {
      // Our layers name things by what they are; these style rules fight the domain vocabulary.
      'unicorn/prevent-abbreviations': 'off',
      'perfectionist/sort-objects': 'off',
      'perfectionist/sort-object-types': 'off',
      'perfectionist/sort-interfaces': 'off',
      'perfectionist/sort-classes': 'off',
      'perfectionist/sort-union-types': 'off',
      'perfectionist/sort-switch-case': 'off',
      'perfectionist/sort-modules': 'off',
      'no-await-in-loop': 'off',
      'unicorn/no-process-exit': 'off',
      'n/no-process-exit': 'off',
      'unicorn/no-array-reduce': 'off',
      'max-params': 'off',
      complexity: 'off',
      'max-depth': 'off',
      'no-bitwise': 'off',
      'unicorn/number-literal-case': 'off',
      'unicorn/numeric-separators-style': 'off',
      'n/no-unsupported-features/node-builtins': 'off',
      'n/hashbang': 'off',
      camelcase: 'off',
      'no-warning-comments': 'off',
      'unicorn/no-null': 'off',
      'unicorn/prefer-event-target': 'off',
    },
  },
  {
    files: ['test/**/*', 'bench/**/*', 'sandbox/**/*', 'demo/**/*'],
    rules: {
      'no-unused-expressions': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
      'mocha/no-setup-in-describe': 'off',
      'mocha/max-top-level-suites': 'off',
      'no-console': 'off',
      'unicorn/no-anonymous-default-export': 'off',
    },
  },
]
