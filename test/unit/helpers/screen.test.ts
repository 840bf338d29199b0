import {expect} from 'chai'

import {wrappedLines} from '../../helpers/screen.js'

describe('test helper: wrappedLines (what a terminal would wrap)', () => {
  it('a line of exactly the width does not wrap, one column more does', () => {
    expect(wrappedLines(`${'a'.repeat(80)}\r\n${'b'.repeat(80)}`, 80)).to.deep.equal([])
    expect(wrappedLines(`${'a'.repeat(81)}\r\n`, 80)).to.deep.equal(['a'.repeat(81)])
  })

  it('counts display width: wide glyphs two columns, colours none', () => {
    expect(wrappedLines(`${'日'.repeat(40)}\r\n`, 80)).to.deep.equal([])
    expect(wrappedLines(`x${'日'.repeat(40)}\r\n`, 80)).to.have.length(1)
    expect(wrappedLines(`\u001B[32m${'a'.repeat(80)}\u001B[39m\r\n`, 80)).to.deep.equal([])
  })

  it('follows a prompt that erases its line and rewrites it, which stripped text would glue together', () => {
    const help = '↑↓ navigate • space select • a all • i invert • ⏎ submit'
    const raw = `? Elements\r\n${help}\u001B[2K\u001B[1G✔ Elements code, files, database\r\n`
    expect(wrappedLines(raw, 80)).to.deep.equal([])
    // Without the erase and the move to column 1, the answer would follow the help and run over.
    expect(wrappedLines(`? Elements\r\n${help}✔ Elements code, files, database\r\n`, 80)).to.have.length(1)
  })

  it('moves with the cursor: up, down, right, left, to a column', () => {
    expect(wrappedLines(`${'a'.repeat(70)}\u001B[5D${'b'.repeat(15)}`, 80)).to.deep.equal([])
    expect(wrappedLines(`${'a'.repeat(70)}\u001B[5D${'b'.repeat(16)}`, 80)).to.have.length(1)
    expect(wrappedLines(`${'a'.repeat(70)}\r\n\u001B[1A\u001B[70C${'b'.repeat(11)}`, 80)).to.have.length(1)
    expect(wrappedLines(`${'a'.repeat(70)}\r\n\u001B[1B${'b'.repeat(11)}`, 80)).to.deep.equal([])
    expect(wrappedLines(`${'a'.repeat(70)}\u001B[20D${'b'.repeat(30)}`, 80)).to.deep.equal([])
    expect(wrappedLines(`\u001B[75G${'b'.repeat(6)}`, 80)).to.deep.equal([])
    expect(wrappedLines(`\u001B[76G${'b'.repeat(6)}`, 80)).to.have.length(1)
  })
})
