import {expect} from 'chai'

import {
  isStageKey,
  isSweepable,
  STAGE_SWEEP_GRACE_MS,
  stageExpiry,
  stageKey,
  stageMetadata,
  stageTagging,
} from '../../../src/destination/stage.js'

const DB = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
const NOW = new Date('2026-01-01T12:00:00.000Z')
const ago = (ms: number) => new Date(NOW.getTime() - ms)

describe('restore stages: which objects are pbm stages, and when one may be swept', () => {
  it('names a stage <prefix>pbm-stage-<ms>-<12 hex>-<archive>, and recognises exactly that name', () => {
    const key = stageKey('tmp/', DB, NOW.getTime())
    expect(key).to.match(
      new RegExp(String.raw`^tmp/pbm-stage-${NOW.getTime()}-[\da-f]{12}-${DB.replaceAll('.', String.raw`\.`)}$`),
    )
    expect(isStageKey(key)).to.equal(true)
    expect(isStageKey(`deep/er/${key}`)).to.equal(true)
    for (const other of [
      DB,
      `alpha/live/${DB}`,
      `tmp/pbm-stage-123-abcdefabcdef-${DB}`, // not a 13-digit ms time
      `tmp/pbm-stage-${NOW.getTime()}-ABCDEFABCDEF-${DB}`, // not lowercase hex
      `tmp/pbm-stage-${NOW.getTime()}-abcdefabcdef-`, // no archive name
      `tmp/pbm-stage-${NOW.getTime()}-abcdefabcdef-..`, // not a safe name
      `tmp/pbm-stage-${NOW.getTime()}-abcdefabcdef-${DB}/inside`, // a "folder" named like a stage
      `tmp/x-pbm-stage-${NOW.getTime()}-abcdefabcdef-${DB}`,
    ]) {
      expect(isStageKey(other), other).to.equal(false)
    }
  })

  it('reads the expiry only of an object with a stage name and pbm’s marker (metadata written by pbm)', () => {
    const key = stageKey('', DB, NOW.getTime())
    const expires = ago(60_000)
    expect(stageExpiry(key, stageMetadata(expires))).to.deep.equal(expires)
    expect(stageExpiry(`alpha/live/${DB}`, stageMetadata(expires)), 'marker without a stage name').to.equal(undefined)
    expect(stageExpiry(key, {}), 'stage name without the marker').to.equal(undefined)
    expect(stageExpiry(key, {'pbm-stage': '1'}), 'no expiry').to.equal(undefined)
    expect(stageExpiry(key, {'pbm-stage': '1', 'pbm-stage-expires': 'soon'})).to.equal(undefined)
    expect(stageExpiry(key, {'pbm-stage': '1', 'pbm-stage-expires': '1700000000'})).to.equal(undefined)
    expect(stageExpiry(key, {'pbm-stage': 'yes', 'pbm-stage-expires': expires.toISOString()})).to.equal(undefined)
  })

  it('sweeps a stage only after its URL expired, with a grace for clocks that differ', () => {
    const key = stageKey('tmp/', DB, NOW.getTime())
    expect(isSweepable(key, stageMetadata(ago(STAGE_SWEEP_GRACE_MS + 1000)), NOW)).to.equal(true)
    expect(isSweepable(key, stageMetadata(ago(STAGE_SWEEP_GRACE_MS - 1000)), NOW), 'within the grace').to.equal(false)
    expect(isSweepable(key, stageMetadata(new Date(NOW.getTime() + 30 * 60_000)), NOW), 'a running restore').to.equal(
      false,
    )
    expect(isSweepable(`tmp/${DB}`, stageMetadata(ago(86_400_000)), NOW), 'not a stage name').to.equal(false)
    expect(isSweepable(key, {}, NOW), 'no marker').to.equal(false)
  })

  it('writes the same facts as tags, in the x-amz-tagging form', () => {
    const expires = new Date('2026-01-01T12:30:00.000Z')
    const tags = new URLSearchParams(stageTagging(expires))
    expect(Object.fromEntries(tags)).to.deep.equal({'pbm-stage': '1', 'pbm-stage-expires': '2026-01-01T12:30:00.000Z'})
  })
})
