#!/usr/bin/env -S node --max-semi-space-size=1 --expose-gc

// --max-semi-space-size=1: the transfer's short-lived buffers are collected sooner. Measured with
// bench/transfer: 15-20 MB less peak RSS and 0.3-0.5 CPU-s less per GB. It must be a node flag: V8
// cannot change it at run time. --expose-gc: src/util/garbage.ts frees the download's dead chunks
// with a minor collection every 2 MiB (bench/memory: ~25 MB less peak RSS per transfer).
import {execute} from '@oclif/core'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

// pbm is also installed as `pantheon-backup-mirror`, for hosts whose `pbm` is Percona Backup for
// MongoDB's. Called by that name, help, examples and shell completion say that name, never `pbm`, and
// its completion script leaves `pbm` alone. (oclif reads the name from package.json's oclif.bin.)
const LONG_NAME = 'pantheon-backup-mirror'
if (path.basename(process.argv[1] ?? '') === LONG_NAME) {
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  pjson.oclif = {...pjson.oclif, bin: LONG_NAME, binAliases: []}
  await execute({loadOptions: {pjson, root: fileURLToPath(new URL('..', import.meta.url))}})
} else {
  await execute({dir: import.meta.url})
}
