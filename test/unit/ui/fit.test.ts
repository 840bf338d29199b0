import {expect} from 'chai'

import {
  displayWidth,
  fitAround,
  fitPhrases,
  fitTable,
  outputWidth,
  shortenEnd,
  shortenMiddle,
  STACK_INDENT,
  stripAnsi,
  wrapLine,
  wrapWords,
} from '../../../src/ui/fit.js'

// Colours as chalk writes them (at level 1), whatever the terminal running the tests.
const colour = {
  green: (text: string) => `\u001B[32m${text}\u001B[39m`,
  red: (text: string) => `\u001B[31m${text}\u001B[39m`,
}
const KEY = 's3://my-backups/pantheon/alpha/live/alpha_live_2026-12-05T03-00-00_UTC_database.sql.gz'
const WIDE = '日本語のファイル名_2026-12-05.tar.gz'
const widths = (text: string) => text.split('\n').map((line) => displayWidth(line))

/** A result table as pick and mirror print it: coloured status, a long key, a size, a whole MD5. */
function results(n: number): string[][] {
  return Array.from({length: n}, (_, i) => [
    colour.green(i % 2 ? 'transferred' : 'skipped'),
    ['code', 'files', 'database'][i % 3],
    i % 2 ? KEY : `/home/someone/backups/alpha/live/alpha_live_2026-12-0${i % 9}T03-00-00_UTC_code.tar.gz`,
    `${i + 1}.0 MB`,
    `md5 ${'0123456789abcdef'.repeat(2)}`,
  ])
}

const RESULT_COLUMNS = [
  {},
  {},
  {min: 40, order: 2, shrink: 'middle' as const},
  {},
  {atOnce: true, min: 13, order: 1, shrink: 'end' as const},
]
const HEADER = ['STATUS', 'ELEMENT', 'WHERE', 'SIZE', 'VERIFIED']

describe('ui/fit: display width', () => {
  it('counts what a terminal shows: colours nothing, wide and emoji glyphs two, marks none', () => {
    expect(displayWidth('abc')).to.equal(3)
    expect(displayWidth(colour.red('abc'))).to.equal(3)
    expect(displayWidth('✔ ✖ ❯ → …')).to.equal(9)
    expect(displayWidth('✅')).to.equal(2)
    expect(displayWidth('✔️')).to.equal(2)
    expect(displayWidth('👨‍👩‍👧')).to.equal(2)
    expect(displayWidth('日本')).to.equal(4)
    expect(displayWidth('é')).to.equal(1)
    expect(displayWidth('e\u0301')).to.equal(1)
    expect(displayWidth('')).to.equal(0)
  })

  it('is 0 (never shorten) when stdout is not a terminal, its columns at one', () => {
    expect(outputWidth({columns: 80, isTTY: false})).to.equal(0)
    expect(outputWidth({columns: 80})).to.equal(0)
    expect(outputWidth({columns: 80, isTTY: true})).to.equal(80)
    expect(outputWidth({isTTY: true})).to.equal(0)
  })
})

describe('ui/fit: shortening', () => {
  it('shortens in the middle to exactly the width, keeping a prefix and a suffix', () => {
    for (const text of [KEY, WIDE, 'abc', '✅✅✅✅✅']) {
      const full = displayWidth(text)
      for (let width = 1; width <= full + 2; width++) {
        const short = shortenMiddle(text, width)
        if (full <= width) {
          expect(short, `${text} at ${width}`).to.equal(text)
          continue
        }

        expect(displayWidth(short), `${text} at ${width}`).to.be.at.most(width)
        // Wide glyphs may leave one column unused, never more.
        expect(displayWidth(short), `${text} at ${width}`).to.be.at.least(width - 1)
        const [head, tail] = short.split('…')
        expect(text.startsWith(head) && text.endsWith(tail), short).to.equal(true)
      }
    }
  })

  it('keeps the element and extension of a key at 80 columns', () => {
    expect(shortenMiddle(KEY, 40)).to.equal('s3://my-backups/pan…_UTC_database.sql.gz')
    expect(shortenMiddle(KEY, 0)).to.equal('')
  })

  it('cuts at the end to the width, keeping and closing colours', () => {
    const md5 = `md5 ${'0123456789abcdef'.repeat(2)}`
    expect(shortenEnd(md5, 13)).to.equal('md5 01234567…')
    expect(shortenEnd(md5, 100)).to.equal(md5)
    const red = shortenEnd(colour.red('transferred successfully'), 6)
    expect(stripAnsi(red)).to.equal('trans…')
    expect(red.endsWith('\u001B[0m')).to.equal(true)
    expect(shortenEnd('日本語', 4)).to.equal('日…')
    for (let width = 1; width < 30; width++) expect(displayWidth(shortenEnd(WIDE, width))).to.be.at.most(width)
  })

  it('wraps words into lines of the width; a word longer than a line is split', () => {
    const text = 'MD5 0123456789abcdef0123456789abcdef differs from the recorded fedcba9876543210fedcba9876543210'
    for (let width = 1; width <= text.length; width++) {
      const lines = wrapWords(text, width)
      expect(
        lines.every((line) => displayWidth(line) <= width),
        `at ${width}`,
      ).to.equal(true)
      expect(lines.join(' ').replaceAll(' ', ''), `at ${width}`).to.equal(text.replaceAll(' ', ''))
    }

    expect(wrapWords('short', 80)).to.deep.equal(['short'])
  })

  it('wraps a long line at a terminal, indenting what follows, and leaves it whole elsewhere', () => {
    const text = `❯ alpha.dev database: terminus import:database alpha.dev <presigned URL> (URL of ${KEY})`
    expect(wrapLine(text, 0)).to.deep.equal([text])
    for (const width of [20, 40, 80]) {
      const lines = wrapLine(text, width)
      expect(lines.length, `at ${width}`).to.be.greaterThan(1)
      expect(lines.every((line) => displayWidth(line) <= width)).to.equal(true)
      expect(lines.slice(1).every((line) => line.startsWith('  '))).to.equal(true)
    }
  })

  it('puts phrases on one line when they fit, else one a line', () => {
    const phrases = ['3 archives of the backup of 2026-12-05 03:00:00 UTC, about 173 MB,', 'to s3://pbm-test/:']
    expect(fitPhrases(phrases, 0)).to.equal(phrases.join(' '))
    expect(fitPhrases(phrases, 120)).to.equal(phrases.join(' '))
    expect(fitPhrases(phrases, 80)).to.equal(phrases.join('\n'))
    expect(widths(fitPhrases(phrases, 30)).every((w) => w <= 30)).to.equal(true)
  })

  it('fits a task title by shortening its hash, then its filename, so that what happened stays', () => {
    const file = 'alpha_live_2026-12-05T03-00-00_UTC_database.sql.gz'
    const md5 = '35e88eda8743a585c83d899ed7dfd3c7'
    const title = `database: ${file} 12.0 MB verified (md5 ${md5})`
    const parts = [
      {min: 9, shrink: 'end' as const, text: md5},
      {min: 24, shrink: 'middle' as const, text: file},
    ]
    expect(fitAround(title, 0, parts)).to.equal(title)
    expect(fitAround(title, 200, parts)).to.equal(title)
    const hashOnly = fitAround(title, title.length - 10, parts)
    expect(hashOnly).to.equal(`database: ${file} 12.0 MB verified (md5 ${md5.slice(0, 21)}…)`)
    for (const width of [67, 74]) {
      const fitted = fitAround(title, width, parts)
      expect(displayWidth(fitted), fitted).to.equal(width)
      expect(fitted).to.match(/^database: alpha_live_.*….*\.sql\.gz 12\.0 MB verified \(md5 35e88eda…\)$/)
    }

    // Too narrow for even the shortest parts: each stops at its minimum, the rest is the caller's to cut.
    expect(displayWidth(fitAround(title, 20, parts))).to.equal(title.length - (md5.length - 9) - (file.length - 24))
  })
})

describe('ui/fit: tables', () => {
  it('keeps every cell whole when there is no terminal (width 0), however wide', () => {
    const text = fitTable(results(6), {columns: RESULT_COLUMNS, header: HEADER, width: 0})
    expect(text)
      .to.include(KEY)
      .and.include(`md5 ${'0123456789abcdef'.repeat(2)}`)
    expect(text).not.to.include('…')
    expect(text.split('\n')).to.have.length(7)
  })

  it('fits every width from 1 to 200 columns: no line wider than the terminal', () => {
    for (let width = 1; width <= 200; width++) {
      const text = fitTable(results(6), {columns: RESULT_COLUMNS, header: HEADER, width})
      const over = widths(text).filter((w) => w > width)
      expect(over, `at ${width} columns:\n${text}`).to.deep.equal([])
    }
  })

  it('gives way in order: whole when it fits, the MD5s first, then the keys, then a line of their own', () => {
    const natural = fitTable(results(2), {columns: RESULT_COLUMNS, header: HEADER})
    const full = Math.max(...widths(natural))
    expect(fitTable(results(2), {columns: RESULT_COLUMNS, header: HEADER, width: full})).to.equal(natural)

    const md5Short = fitTable(results(2), {columns: RESULT_COLUMNS, header: HEADER, width: full - 1})
    expect(md5Short).to.include('md5 01234567…').and.include(KEY)

    const keyShort = fitTable(results(2), {columns: RESULT_COLUMNS, header: HEADER, width: 90})
    expect(keyShort).to.include('md5 01234567…').and.include('s3://my-backups/panthe…00_UTC_database.sql.gz')
    expect(keyShort.split('\n')).to.have.length(3)

    // At 80 the key would be shortened below its minimum: it takes a line of its own, as whole as fits.
    const stacked = fitTable(results(2), {columns: RESULT_COLUMNS, header: HEADER, width: 80})
    const lines = stacked.split('\n')
    expect(lines[0]).to.equal('STATUS       ELEMENT  SIZE    VERIFIED')
    expect(lines).to.include(`${STACK_INDENT}${shortenMiddle(KEY, 80 - STACK_INDENT.length)}`)
    expect(fitTable(results(2), {columns: RESULT_COLUMNS, width: 80})).to.include(`\n${STACK_INDENT}/home/someone/`)
    expect(lines).to.have.length(5)
    expect(stacked).to.include(`md5 ${'0123456789abcdef'.repeat(2)}`)
  })

  it('aligns columns by display width, whatever the colours and glyphs', () => {
    const rows = [
      [colour.green('✔ ok'), '日本', 'x'],
      [colour.red('✖ corrupt'), 'ab', 'y'],
      ['✅ done', 'abcdef', 'z'],
    ]
    for (const width of [0, 120]) {
      const lines = fitTable(rows, {width}).split('\n')
      const thirdAt = lines.map((line) => displayWidth(stripAnsi(line).slice(0, stripAnsi(line).search(/[xyz]$/))))
      expect(new Set(thirdAt).size, lines.join('\n')).to.equal(1)
    }
  })

  it('wraps a prose column onto more lines, aligned under it', () => {
    const rows = [['stale', 'alpha.live', 'newest backup is 46 hours old (limit 24)']]
    const text = fitTable(rows, {columns: [{}, {}, {min: 20, shrink: 'wrap'}], width: 40})
    expect(text.split('\n')).to.deep.equal([
      'stale  alpha.live  newest backup is 46',
      '                   hours old (limit 24)',
    ])
  })

  it('indents every line and counts the indent in the width', () => {
    const text = fitTable(results(3), {columns: RESULT_COLUMNS, indent: '  ', width: 60})
    for (const line of text.split('\n')) {
      expect(line.startsWith('  ')).to.equal(true)
      expect(displayWidth(line)).to.be.at.most(60)
    }
  })

  it('on a very narrow terminal cuts each line rather than let it wrap', () => {
    for (const width of [1, 2, 5, 10, 20]) {
      const text = fitTable(results(3), {columns: RESULT_COLUMNS, header: HEADER, width})
      expect(
        widths(text).every((w) => w <= width),
        `at ${width}:\n${text}`,
      ).to.equal(true)
    }
  })

  it('prints nothing for no rows and no header', () => {
    expect(fitTable([], {width: 80})).to.equal('')
  })
})
