import type {BackupSet} from '../catalog/types.js'

import {formatBytes} from '../util/bytes.js'
import {displayWidth, fitTable, shortenEnd} from './fit.js'
import {formatExpiry, formatLocal, formatUtc} from './format.js'

/** What a prompt puts before each choice (`❯ `), which the list's width must leave room for. */
const POINTER_WIDTH = 2
/** A checkbox's pointer and circle (`❯◯ `). */
const CHECKBOX_WIDTH = 4

/**
 * One line a set, aligned in columns, for the backup question:
 * `2026-12-05 03:00:00 UTC (04:00 local)  manual     code 30.0 kB, files 50.0 kB, db 20.0 kB  expires in 5 days`.
 * The time is the set's one time (catalog/time.ts); sizes are decimal like every size pbm shows
 * (Terminus's "MB" are MiB, converted by the catalog). At a narrow terminal, details give way in this
 * order: the local time, the expiry, the sizes; all lines take the same shape so the columns stay
 * aligned. `width` 0 (not a terminal) keeps everything.
 */
export function describeSets(
  sets: readonly BackupSet[],
  options: {now?: Date; timeZone?: string; width?: number} = {},
) {
  const {now = new Date(), timeZone, width = 0} = options
  const room = width > 0 ? Math.max(1, width - POINTER_WIDTH) : 0
  const shapes = [
    {expiry: true, local: true, sizes: true},
    {expiry: true, local: false, sizes: true},
    {expiry: false, local: false, sizes: true},
    {expiry: false, local: false, sizes: false},
  ]
  const showLocal = sets.some((set) => localDiffers(set.date, timeZone))
  const render = (shape: (typeof shapes)[number]) =>
    fitTable(
      sets.map((set) => [
        shape.local && showLocal
          ? `${formatUtc(set.date)} (${formatLocal(set.date, timeZone).slice(11)} local)`
          : formatUtc(set.date),
        set.initiator,
        set.backups
          .map((b) => {
            const name = b.element === 'database' ? 'db' : b.element
            return shape.sizes ? `${name} ${formatBytes(b.sizeBytes)}` : name
          })
          .join(', '),
        shape.expiry ? formatExpiry(set.expiry, now) : '',
      ]),
    ).split('\n')
  for (const shape of shapes) {
    const lines = render(shape)
    if (room === 0 || lines.every((line) => displayWidth(line) <= room)) return lines
  }

  return render(shapes.at(-1)!).map((line) => shortenEnd(line, room))
}

/** Whether the machine's clock reads this instant differently from UTC (otherwise "local" says nothing new). */
function localDiffers(date: Date, timeZone?: string): boolean {
  return formatLocal(date, timeZone) !== formatUtc(date).slice(0, 16)
}

/** One line an archive of a set, for the elements question: `code  alpha_live_…_code.tar.gz  30.0 kB`. */
export function describeArchives(set: BackupSet, width = 0): string[] {
  return fitTable(
    set.backups.map((b) => [b.element, b.file, formatBytes(b.sizeBytes)]),
    {columns: [{}, {min: 16, shrink: 'middle'}], width: width > 0 ? Math.max(1, width - CHECKBOX_WIDTH) : 0},
  ).split('\n')
}
