/** The sandbox of `npm run demo` and `npm run sandbox`: three sites (one frozen), three sets each. */
import type {SandboxSpec} from '../sandbox/index.js'

const day = 86_400_000
const at = (daysAgo: number) =>
  new Date(Math.floor((Date.now() - daysAgo * day) / day) * day + 3 * 3_600_000).toISOString()
export const MB = 1_000_000
const sets = (sizes: {code: number; database: number; files: number}) => [
  {date: at(3), initiator: 'automated' as const, sizes},
  {date: at(2), initiator: 'manual' as const, sizes},
  {date: at(1), initiator: 'automated' as const, sizes},
]

export function demoSpec(): SandboxSpec {
  return {
    sites: [
      {
        envs: [
          {backups: sets({code: 4 * MB, database: 12 * MB, files: 30 * MB}), name: 'live'},
          {backups: sets({code: 4 * MB, database: 3 * MB, files: 5 * MB}), name: 'dev'},
        ],
        framework: 'drupal10',
        name: 'alpha',
      },
      {
        envs: [
          {backups: sets({code: 2 * MB, database: 8 * MB, files: 20 * MB}), name: 'live'},
          {backups: sets({code: 2 * MB, database: MB, files: 2 * MB}), name: 'dev'},
        ],
        framework: 'wordpress',
        name: 'beta',
      },
      {envs: [{backups: sets({code: MB, database: MB, files: MB}), name: 'live'}], frozen: true, name: 'gamma'},
    ],
  }
}
