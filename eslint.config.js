import {includeIgnoreFile} from '@eslint/compat'
import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const gitignorePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '.gitignore')

const LAYERS = [
  'src/util',
  'src/catalog',
  'src/terminus',
  'src/restic',
  'src/destination',
  'src/transfer',
  'src/plan',
  'src/jobs',
  'src/ui',
  'src/commands',
]
const COMMAND_LEVEL = ['src/base-command.ts', 'src/flags.ts']

/**
 * For each layer, what it may import besides itself and the shared leaves (src/errors.ts, src/redact.ts);
 * everything else under src/ is a restricted zone for it.
 */
function layerZones(allowed) {
  return allowed.flatMap(([layer, lower]) =>
    [...LAYERS.filter((l) => l !== layer && !lower.includes(l)), ...COMMAND_LEVEL].map((from) => ({
      from: `./${from}`,
      message: `${layer} may import only ${lower.length > 0 ? lower.join(', ') : 'nothing else'} (and src/errors.ts, src/redact.ts): layers point downward.`,
      target: `./${layer}`,
    })),
  )
}

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
    // Layers import downward only (docs/ARCHITECTURE.md): a lower layer importing an upper one is an error.
    files: ['src/**/*.ts'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: layerZones([
            ['src/util', []],
            ['src/catalog', ['src/util']],
            ['src/terminus', ['src/catalog', 'src/util']],
            ['src/restic', ['src/catalog', 'src/util']],
            ['src/destination', ['src/restic', 'src/catalog', 'src/util']],
            ['src/transfer', ['src/destination', 'src/catalog', 'src/util']],
            ['src/plan', ['src/terminus', 'src/catalog', 'src/util']],
            [
              'src/jobs',
              ['src/plan', 'src/transfer', 'src/destination', 'src/restic', 'src/terminus', 'src/catalog', 'src/util'],
            ],
            [
              'src/ui',
              [
                'src/jobs',
                'src/plan',
                'src/transfer',
                'src/destination',
                'src/restic',
                'src/terminus',
                'src/catalog',
                'src/util',
              ],
            ],
          ]),
        },
      ],
    },
  },
  {
    // src/util/http.ts loads node:http and node:https as CommonJS: an ESM import of them loads Node's
    // undici, which kills a process without WebAssembly (node --jitless) on Node 22 (why: in that file).
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['node:http', 'node:https', 'http', 'https'].map((name) => ({
            allowTypeImports: true,
            message:
              'Import {http, https} from src/util/http.ts: an ESM import of them breaks node --jitless on Node 22.',
            name,
          })),
        },
      ],
    },
  },
  {
    // Jobs report through events; drawing and asking belong to src/ui.
    files: [
      'src/jobs/**/*.ts',
      'src/plan/**/*.ts',
      'src/catalog/**/*.ts',
      'src/transfer/**/*.ts',
      'src/destination/**/*.ts',
      'src/terminus/**/*.ts',
      'src/restic/**/*.ts',
      'src/util/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['listr2', 'chalk', '@inquirer/prompts', '@oclif/core'].map((name) => ({
            message: 'Only src/ui and src/commands draw, ask or parse flags: emit an event or return data instead.',
            name,
          })),
          patterns: [{group: ['@inquirer/*', 'listr2/*'], message: 'Only src/ui draws or asks.'}],
        },
      ],
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
