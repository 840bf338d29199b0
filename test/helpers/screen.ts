/**
 * What a terminal of `cols` columns does with a program's output, reduced to the one question the
 * display tests ask: did any line run past the right edge and wrap? Plain text after ANSI stripping
 * cannot tell (a prompt erases and rewrites its lines with cursor moves, which stripping glues
 * together), so this follows the cursor: printable text advances it by its display width, and CSI
 * cursor moves, carriage returns, line feeds and erases move it as a terminal would.
 */
import {displayWidth} from '../../src/ui/fit.js'

// eslint-disable-next-line no-control-regex
const CSI = /^\u001B\[([0-?]*)[ -/]*([@-~])/
// eslint-disable-next-line no-control-regex
const OSC = /^\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)/
// eslint-disable-next-line no-control-regex
const PRINTABLE_RUN = /^[^\u0000-\u001F\u007F]+/
const graphemes = new Intl.Segmenter('en', {granularity: 'grapheme'})

/** Each line (as it stood on the screen) that the terminal had to wrap, with what overflowed. */
export function wrappedLines(raw: string, cols: number): string[] {
  const screen: string[][] = [[]]
  let row = 0
  let col = 0
  const wrapped: string[] = []
  const line = (): string[] => {
    screen[row] ??= []
    return screen[row]
  }

  const put = (text: string) => {
    for (const {segment} of graphemes.segment(text)) {
      const width = displayWidth(segment)
      if (width === 0) continue
      if (col + width > cols) {
        wrapped.push(`${line().join('')}${segment}`)
        row++
        col = 0
      }

      const cells = line()
      cells[col] = segment
      for (let i = 1; i < width; i++) cells[col + i] = ''
      col += width
    }
  }

  let i = 0
  while (i < raw.length) {
    const ch = raw[i]
    if (ch === '\u001B') {
      const csi = CSI.exec(raw.slice(i))
      if (csi) {
        const n = Number.parseInt(csi[1].replace(/^\?/, ''), 10)
        const count = Number.isNaN(n) || n === 0 ? 1 : n
        switch (csi[2]) {
          case 'A': {
            row = Math.max(0, row - count)
            break
          }

          case 'B':
          case 'E': {
            row += count
            if (csi[2] === 'E') col = 0
            break
          }

          case 'C': {
            col = Math.min(cols - 1, col + count)
            break
          }

          case 'D': {
            col = Math.max(0, col - count)
            break
          }

          case 'F': {
            row = Math.max(0, row - count)
            col = 0
            break
          }

          case 'G': {
            col = Math.max(0, (Number.isNaN(n) ? 1 : n) - 1)
            break
          }

          case 'K': {
            const cells = line()
            if (csi[1] === '2') screen[row] = []
            else if (csi[1] === '1') for (let c = 0; c <= col; c++) cells[c] = ' '
            else cells.length = Math.min(cells.length, col)
            break
          }

          case 'J': {
            line().length = Math.min(line().length, col)
            screen.length = Math.min(screen.length, row + 1)
            break
          }

          default: {
            break
          }
        }

        i += csi[0].length
        continue
      }

      const osc = OSC.exec(raw.slice(i))
      i += osc ? osc[0].length : 2
      continue
    }

    switch (ch) {
      case '\r': {
        col = 0
        break
      }

      case '\n': {
        row++
        break
      }

      case '\b': {
        col = Math.max(0, col - 1)
        break
      }

      case '\t': {
        col = Math.min(cols - 1, (Math.floor(col / 8) + 1) * 8)
        break
      }

      default: {
        // The run of printable text up to the next control character, put as graphemes.
        const run = PRINTABLE_RUN.exec(raw.slice(i))?.[0]
        if (run) {
          put(run)
          i += run.length
          continue
        }
      }
    }

    i++
  }

  return wrapped
}
