/**
 * Output that fits the terminal: display widths (wide and emoji glyphs take two columns, combining marks
 * none, colours nothing), shortening in the middle, and tables that fit a width. Pure: the width is an
 * argument, 0 meaning "not a terminal, never shorten" (piped output and logs keep every name whole).
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-?]*[ -/]*[@-~]/g
// eslint-disable-next-line no-control-regex
const ANSI_AT_START = /^\u001B\[[0-?]*[ -/]*[@-~]/
// eslint-disable-next-line no-control-regex
const ANSI_ANYWHERE = /\u001B\[[0-?]*[ -/]*[@-~]/
const PLAIN = /^[\u0020-\u007E]*$/
const ZERO_WIDTH = /^[\p{M}\p{Cf}\p{Cc}]+$/u
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F/u
const graphemes = new Intl.Segmenter('en', {granularity: 'grapheme'})

/** The terminal's width for what we print on stdout, or 0 when stdout is not a terminal (no shortening). */
export function outputWidth(stream: {columns?: number; isTTY?: boolean} = process.stdout): number {
  return stream.isTTY ? (stream.columns ?? 0) : 0
}

export function stripAnsi(text: string): string {
  return text.replaceAll(ANSI, '')
}

/** Columns a string takes at a terminal. */
export function displayWidth(text: string): number {
  const visible = stripAnsi(text)
  if (PLAIN.test(visible)) return visible.length
  let width = 0
  for (const {segment} of graphemes.segment(visible)) width += graphemeWidth(segment)
  return width
}

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0
  if (EMOJI.test(grapheme)) return 2
  return isWide(grapheme.codePointAt(0) ?? 0) ? 2 : 1
}

/** East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth W and F), by range. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x11_00 && cp <= 0x11_5f) ||
    (cp >= 0x23_29 && cp <= 0x23_2a) ||
    (cp >= 0x2e_80 && cp <= 0x30_3e) ||
    (cp >= 0x30_41 && cp <= 0x33_ff) ||
    (cp >= 0x34_00 && cp <= 0x4d_bf) ||
    (cp >= 0x4e_00 && cp <= 0x9f_ff) ||
    (cp >= 0xa0_00 && cp <= 0xa4_cf) ||
    (cp >= 0xa9_60 && cp <= 0xa9_7f) ||
    (cp >= 0xac_00 && cp <= 0xd7_a3) ||
    (cp >= 0xf9_00 && cp <= 0xfa_ff) ||
    (cp >= 0xfe_10 && cp <= 0xfe_19) ||
    (cp >= 0xfe_30 && cp <= 0xfe_6f) ||
    (cp >= 0xff_00 && cp <= 0xff_60) ||
    (cp >= 0xff_e0 && cp <= 0xff_e6) ||
    (cp >= 0x1_f3_00 && cp <= 0x1_f6_4f) ||
    (cp >= 0x1_f9_00 && cp <= 0x1_f9_ff) ||
    (cp >= 0x2_00_00 && cp <= 0x3_ff_fd)
  )
}

function clusters(text: string): Array<{text: string; width: number}> {
  return [...graphemes.segment(text)].map(({segment}) => ({text: segment, width: graphemeWidth(segment)}))
}

/**
 * `text` in at most `width` columns, the middle replaced by `…`: the start (where) and the end (which
 * element, which extension) are what tell one name from another. Colours are dropped when it is cut.
 */
export function shortenMiddle(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 0) return ''
  if (width === 1) return '…'
  const parts = clusters(stripAnsi(text))
  const room = width - 1
  const tailRoom = Math.ceil(room / 2)
  const tail: string[] = []
  let used = 0
  for (let i = parts.length - 1; i >= 0 && used + parts[i].width <= tailRoom; i--) {
    tail.unshift(parts[i].text)
    used += parts[i].width
  }

  const head: string[] = []
  for (const part of parts) {
    if (used + part.width > room) break
    head.push(part.text)
    used += part.width
  }

  return `${head.join('')}…${tail.join('')}`
}

/** `text` in at most `width` columns, cut at the end with `…`; colour codes are kept, and closed. */
export function shortenEnd(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 0) return ''
  let out = ''
  let used = 0
  let coloured = false
  let rest = text
  while (rest.length > 0) {
    const code = ANSI_AT_START.exec(rest)?.[0]
    if (code) {
      out += code
      coloured = true
      rest = rest.slice(code.length)
      continue
    }

    const next = ANSI_ANYWHERE.exec(rest)
    const plainEnd = next ? next.index : rest.length
    const plain = rest.slice(0, plainEnd)
    let stop = false
    for (const part of clusters(plain)) {
      if (used + part.width > width - 1) {
        stop = true
        break
      }

      out += part.text
      used += part.width
    }

    if (stop) break
    rest = rest.slice(plainEnd)
  }

  return `${out}…${coloured ? '\u001B[0m' : ''}`
}

/** A long part of a line (a filename, a location, a hash), how it gives way, and how short it may get. */
export interface LongPart {
  text: string
  shrink: 'end' | 'middle'
  min: number
}

/**
 * A one-line `text` in `width` columns (0: as it is) by shortening its long parts, in the order given,
 * each no shorter than its `min`: the words around them (what happened: "verified", "corrupt") stay. A
 * line still too wide after that is left to the caller to cut.
 */
export function fitAround(text: string, width: number, parts: LongPart[]): string {
  let out = text
  for (const part of parts) {
    const overflow = displayWidth(out) - width
    if (width <= 0 || overflow <= 0) break
    const at = out.indexOf(part.text)
    if (at === -1 || !part.text) continue
    const target = Math.max(part.min, displayWidth(part.text) - overflow)
    const short = part.shrink === 'middle' ? shortenMiddle(part.text, target) : shortenEnd(part.text, target)
    out = out.slice(0, at) + short + out.slice(at + part.text.length)
  }

  return out
}

/** Words of `text` in lines of at most `width` columns; a word longer than a line is split. */
export function wrapWords(text: string, width: number): string[] {
  const plain = stripAnsi(text)
  if (displayWidth(plain) <= width) return [text]
  const lines: string[] = []
  let line = ''
  for (const word of plain.split(/ +/)) {
    const candidate = line ? `${line} ${word}` : word
    if (displayWidth(candidate) <= width) {
      line = candidate
      continue
    }

    if (line) lines.push(line)
    line = word
    while (displayWidth(line) > width) {
      const parts = clusters(line)
      let cut = 0
      let used = 0
      while (cut < parts.length && used + parts[cut].width <= width) used += parts[cut++].width
      cut = Math.max(cut, 1)
      lines.push(
        parts
          .slice(0, cut)
          .map((p) => p.text)
          .join(''),
      )
      line = parts
        .slice(cut)
        .map((p) => p.text)
        .join('')
    }
  }

  if (line) lines.push(line)
  return lines
}

/** How a column gives way when a table is wider than the terminal. */
export interface ColumnFit {
  /** `middle` shortens with … in the middle (names, keys), `end` at the end (hashes), `wrap` breaks words onto more lines (prose). */
  shrink?: 'end' | 'middle' | 'wrap'
  /** The narrowest it becomes before the row is split into lines instead (default 12, never below its header). */
  min?: number
  /** Lower gives way first (default: the column's index). */
  order?: number
  /** Give way straight to the minimum, not column by column (a hash is read whole or by its first digits). */
  atOnce?: boolean
}

export interface TableOptions {
  header?: string[]
  columns?: ColumnFit[]
  /** The terminal's width; 0 (not a terminal) prints every cell whole. */
  width?: number
  /** Put before every line (and counted in the width). */
  indent?: string
}

const GAP = '  '
/** Where a column that no longer fits beside the others goes: on its own line below, indented this much. */
export const STACK_INDENT = '    '

/**
 * A plain-text table whose columns line up (by display width, colours ignored) and which fits `width`:
 * first the shrinkable columns give way, in their order, down to their minimums; if the row still does
 * not fit, shrinkable columns move, the last to give way first, to lines of their own under their row
 * (indented, fitted to the width); a line that still does not fit (a very narrow terminal) is cut with
 * `…`. No trailing spaces. `width` 0 prints every cell whole.
 */
export function fitTable(rows: string[][], options: TableOptions = {}): string {
  const {columns = [], header, indent = '', width = 0} = options
  const all = header ? [header, ...rows] : rows
  if (all.length === 0) return ''
  const count = Math.max(...all.map((row) => row.length))
  const natural = Array.from({length: count}, (_, col) => Math.max(...all.map((row) => displayWidth(row[col] ?? ''))))
  const everyColumn = natural.map((_, col) => col)
  if (width <= 0) return render(all, everyColumn, natural, indent, columns, 0)
  const shrinkable = everyColumn
    .filter((col) => columns[col]?.shrink)
    .sort((a, b) => (columns[a].order ?? a) - (columns[b].order ?? b))
  const minOf = (col: number) =>
    Math.min(natural[col], Math.max(columns[col]?.min ?? 12, displayWidth(header?.[col] ?? '')))
  const room = width - displayWidth(indent)
  const layout = (shown: number[]): number[] | undefined => {
    const widths = [...natural]
    const total = () => shown.reduce((sum, col) => sum + widths[col], 0) + GAP.length * (shown.length - 1)
    for (const col of shrinkable.filter((c) => shown.includes(c))) {
      const excess = total() - room
      if (excess <= 0) break
      widths[col] = columns[col].atOnce ? minOf(col) : Math.max(minOf(col), widths[col] - excess)
    }

    return total() <= room ? widths : undefined
  }

  const moved: number[] = []
  const last = [...shrinkable].reverse()
  for (let i = 0; i <= last.length; i++) {
    if (i > 0) moved.push(last[i - 1])
    const shown = everyColumn.filter((c) => !moved.includes(c))
    const widths = layout(shown)
    if (widths) return stack({columns, header, indent, moved, rows, shown, width, widths})
  }

  // Even the columns that cannot shrink are too wide: every shrinkable one below its row, lines cut.
  const shown = everyColumn.filter((c) => !moved.includes(c))
  return stack({columns, header, indent, moved, rows, shown, width, widths: natural})
}

/** The rows with the `shown` columns side by side and each `moved` column on its own line below. */
function stack(t: {
  columns: ColumnFit[]
  header?: string[]
  indent: string
  moved: number[]
  rows: string[][]
  shown: number[]
  width: number
  widths: number[]
}): string {
  const {columns, indent, shown, width, widths} = t
  if (t.moved.length === 0)
    return render(t.header ? [t.header, ...t.rows] : t.rows, shown, widths, indent, columns, width)
  const moved = [...t.moved].sort((a, b) => a - b)
  const inner = `${indent}${STACK_INDENT}`
  const below = Math.max(1, width - displayWidth(inner))
  const lines: string[] = []
  if (t.header) lines.push(render([t.header], shown, widths, indent, columns, width))
  for (const row of t.rows) {
    lines.push(render([row], shown, widths, indent, columns, width))
    for (const col of moved) {
      const text = row[col] ?? ''
      if (text) for (const line of fitCell(text, below, columns[col])) lines.push(cut(`${inner}${line}`, width))
    }
  }

  return lines.join('\n')
}

function fitCell(text: string, width: number, fit: ColumnFit | undefined): string[] {
  if (displayWidth(text) <= width) return [text]
  switch (fit?.shrink) {
    case 'end': {
      return [shortenEnd(text, width)]
    }

    case 'middle': {
      return [shortenMiddle(text, width)]
    }

    case 'wrap': {
      return wrapWords(text, width)
    }

    default: {
      return [text]
    }
  }
}

function render(
  all: string[][],
  shown: number[],
  widths: number[],
  indent: string,
  columns: ColumnFit[],
  width: number,
): string {
  const lines: string[] = []
  for (const row of all) {
    const cells = shown.map((col) => fitCell(row[col] ?? '', widths[col], columns[col]))
    const height = Math.max(...cells.map((c) => c.length))
    for (let i = 0; i < height; i++) {
      const line = cells
        .map((cell, at) => {
          const text = cell[i] ?? ''
          const pad = at === cells.length - 1 ? 0 : widths[shown[at]] - displayWidth(text)
          return text + ' '.repeat(Math.max(0, pad))
        })
        .join(GAP)
        .trimEnd()
      lines.push(cut(`${indent}${line}`, width))
    }
  }

  return lines.join('\n')
}

/** The last resort on a very narrow terminal: a line cut to the width. */
function cut(line: string, width: number): string {
  return width > 0 && displayWidth(line) > width ? shortenEnd(line, width) : line
}

/**
 * Phrases that make one sentence: on one line when it fits the width (or there is none), otherwise
 * one line each, a phrase still too long shortened in the middle.
 */
export function fitPhrases(phrases: string[], width: number): string {
  const line = phrases.join(' ')
  if (width <= 0 || displayWidth(line) <= width) return line
  return phrases.map((phrase) => shortenMiddle(phrase, width)).join('\n')
}

/**
 * A line of prose for the terminal: whole when it fits (or `width` is 0, not a terminal), otherwise
 * its words over several lines, the later ones indented by `hang` so the first stands out.
 */
export function wrapLine(text: string, width: number, hang = '  '): string[] {
  if (text.includes('\n')) return text.split('\n').flatMap((line) => wrapLine(line, width, hang))
  if (width <= 0 || displayWidth(text) <= width) return [text]
  const [first, ...rest] = wrapWords(text, width)
  const inner = Math.max(1, width - displayWidth(hang))
  return [first, ...wrapWords(rest.join(' '), inner).map((line) => `${hang}${line}`)]
}
