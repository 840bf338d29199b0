import {expect} from 'chai'

import {UsageError} from '../../../src/errors.js'
import {
  applyRetention,
  type BucketKind,
  describePolicy,
  isoWeek,
  parseCount,
  parseDuration,
  parsePolicy,
  type PolicyInput,
  reasonText,
  type RetentionPolicy,
  subtractDuration,
} from '../../../src/plan/retention.js'

interface Item {
  date: Date
  name: string
}

/** `2024-02-29 23:59` or `2024-02-29 23:59:30`, UTC. */
function utc(text: string): Date {
  const iso = `${text.replace(' ', 'T')}${text.length === 16 ? ':00' : ''}Z`
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) throw new Error(`bad test date ${text}`)
  return date
}

function items(...texts: string[]): Item[] {
  return texts.map((name) => ({date: utc(name), name}))
}

/** name -> reasons ('daily #1, weekly #1'), or 'remove'; in the order given. */
function decide(list: Item[], input: PolicyInput, now?: Date): Record<string, string> {
  const result = applyRetention(list, parsePolicy(input), now ? {now} : {})
  const out: Record<string, string> = {}
  for (const it of list) out[it.name] = 'remove'
  for (const {item, reasons} of result.keep) out[item.name] = reasons.map((r) => reasonText(r)).join(', ')
  expect(result.keep.length + result.remove.length).to.equal(list.length)
  return out
}

function kept(list: Item[], input: PolicyInput, now?: Date): string[] {
  const d = decide(list, input, now)
  return Object.keys(d).filter((name) => d[name] !== 'remove')
}

describe('plan/retention: durations (restic grammar)', () => {
  it('parses each unit and any combination, in any order', () => {
    expect(parseDuration('45d')).to.deep.equal({years: 0, months: 0, days: 45, hours: 0})
    expect(parseDuration('2y3m')).to.deep.equal({years: 2, months: 3, days: 0, hours: 0})
    expect(parseDuration('12h')).to.deep.equal({years: 0, months: 0, days: 0, hours: 12})
    expect(parseDuration('1y2m3d4h')).to.deep.equal({years: 1, months: 2, days: 3, hours: 4})
    expect(parseDuration('4h1y')).to.deep.equal({years: 1, months: 0, days: 0, hours: 4})
    expect(parseDuration(' 7d ')).to.deep.equal({years: 0, months: 0, days: 7, hours: 0})
  })

  for (const bad of ['', '5', 'd', '1w', '1d2d', '-1d', '1.5d', '1 d', '1D', 'forever', '3d!']) {
    it(`refuses "${bad}" as a usage error naming the flag`, () => {
      expect(() => parseDuration(bad)).to.throw(UsageError, /--keep-within/)
    })
  }

  it('subtracts like Go AddDate: calendar units normalized, then hours', () => {
    // 31 March minus a month is "31 February", which normalizes to 2 March (leap year).
    expect(subtractDuration(utc('2024-03-31 12:00'), parseDuration('1m')).toISOString()).to.equal(
      '2024-03-02T12:00:00.000Z',
    )
    expect(subtractDuration(utc('2023-03-31 12:00'), parseDuration('1m')).toISOString()).to.equal(
      '2023-03-03T12:00:00.000Z',
    )
    // The leap day minus a year is "2023-02-29", which is 1 March.
    expect(subtractDuration(utc('2024-02-29 08:00'), parseDuration('1y')).toISOString()).to.equal(
      '2023-03-01T08:00:00.000Z',
    )
    expect(subtractDuration(utc('2024-03-01 01:00'), parseDuration('1d2h')).toISOString()).to.equal(
      '2024-02-28T23:00:00.000Z',
    )
    expect(subtractDuration(utc('2025-01-15 00:00'), parseDuration('1y2m3d4h')).toISOString()).to.equal(
      '2023-11-11T20:00:00.000Z',
    )
  })
})

describe('plan/retention: policies', () => {
  it('reads counts, unlimited and durations', () => {
    expect(parsePolicy({keepDaily: '7', keepWeekly: 4, keepMonthly: 'unlimited', keepWithin: '45d'})).to.deep.equal({
      counts: {daily: 7, weekly: 4, monthly: Number.POSITIVE_INFINITY},
      within: {years: 0, months: 0, days: 45, hours: 0},
    })
    expect(parseCount('-1', '--keep-last')).to.equal(Number.POSITIVE_INFINITY)
    expect(parseCount(0, '--keep-last')).to.equal(0)
  })

  for (const bad of ['1.5', 'abc', '-2', '']) {
    it(`refuses the count "${bad}"`, () => {
      expect(() => parseCount(bad, '--keep-daily')).to.throw(UsageError, /--keep-daily/)
    })
  }

  it('an empty policy is a usage error, also when every rule is 0', () => {
    expect(() => parsePolicy({})).to.throw(UsageError, /No retention policy/)
    expect(() => parsePolicy({keepLast: 0, keepDaily: '0', keepWithin: '0d'})).to.throw(UsageError)
    expect(() => applyRetention(items('2024-01-01 00:00'), {counts: {daily: 0}})).to.throw(UsageError)
  })

  it('describes the policy', () => {
    expect(describePolicy(parsePolicy({keepDaily: 7, keepWeekly: 4, keepMonthly: 6}))).to.equal(
      'keep 7 daily, 4 weekly, 6 monthly backups',
    )
    expect(describePolicy(parsePolicy({keepLast: 3, keepYearly: 'unlimited', keepWithin: '2y3m'}))).to.equal(
      'keep 3 last backups, all yearly backups and all within 2y3m of the newest',
    )
  })

  it('describes a policy in English that agrees with its numbers (one backup is "a backup")', () => {
    expect(describePolicy(parsePolicy({keepLast: 1}))).to.equal('keep 1 last backup')
    expect(describePolicy(parsePolicy({keepLast: 2}))).to.equal('keep 2 last backups')
    expect(describePolicy(parsePolicy({keepDaily: 1}))).to.equal('keep 1 daily backup')
    expect(describePolicy(parsePolicy({keepDaily: 1, keepWeekly: 1}))).to.equal('keep 1 daily, 1 weekly backups')
    expect(describePolicy(parsePolicy({keepLast: 1, keepMonthly: 1, keepWithin: '7d'}))).to.equal(
      'keep 1 last backup, 1 monthly backup and all within 7d of the newest',
    )
    expect(describePolicy(parsePolicy({keepLast: 'unlimited'}))).to.equal('keep all backups')
    expect(describePolicy(parsePolicy({keepWithin: '45d'}))).to.equal('keep all within 45d of the newest')
  })

  it('an empty series plans nothing', () => {
    expect(applyRetention([], parsePolicy({keepLast: 1}))).to.deep.equal({keep: [], remove: []})
  })
})

describe('plan/retention: ISO weeks', () => {
  const cases: Array<[string, number, number]> = [
    ['2020-12-31 12:00', 2020, 53], // Thursday
    ['2021-01-01 12:00', 2020, 53], // Friday of the same week
    ['2021-01-03 23:59', 2020, 53], // Sunday ends it
    ['2021-01-04 00:00', 2021, 1], // Monday starts week 1
    ['2019-12-30 00:00', 2020, 1], // Monday in December, already week 1 of 2020
    ['2024-12-30 10:00', 2025, 1],
    ['2016-01-03 10:00', 2015, 53],
    ['2026-01-01 00:00', 2026, 1], // a Thursday
    ['2024-02-29 12:00', 2024, 9],
  ]
  for (const [date, year, week] of cases) {
    it(`${date} is ${year}-W${week}`, () => {
      expect(isoWeek(utc(date))).to.deep.equal({year, week})
    })
  }
})

describe('plan/retention: hand-made timelines', () => {
  it("restic's documentation: a Sunday backup for 12 weeks, --keep-daily 4 keeps the last four", () => {
    const sundays = items(
      '2019-09-01 11:00',
      '2019-09-08 11:00',
      '2019-09-15 11:00',
      '2019-09-22 11:00',
      '2019-09-29 11:00',
      '2019-10-06 11:00',
      '2019-10-13 11:00',
      '2019-10-20 11:00',
      '2019-10-27 11:00',
      '2019-11-03 11:00',
      '2019-11-10 11:00',
      '2019-11-17 11:00',
    )
    expect(kept(sundays, {keepDaily: 4})).to.deep.equal([
      '2019-10-27 11:00',
      '2019-11-03 11:00',
      '2019-11-10 11:00',
      '2019-11-17 11:00',
    ])
  })

  it("restic's documentation: 100 years of dailies, --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75", () => {
    // Ending on a Sunday: the 7 dailies hold 1 weekly, so 4 more weeklies; the monthly of December is
    // a daily, so 11 more; the yearly of 2023 too, so 74 more.
    const list: Item[] = []
    for (let t = Date.UTC(1924, 0, 1, 3); t <= Date.UTC(2023, 11, 31, 3); t += 86_400_000) {
      list.push({date: new Date(t), name: new Date(t).toISOString().slice(0, 10)})
    }

    const result = applyRetention(list, parsePolicy({keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75}))
    const count = (bucket: BucketKind) =>
      result.keep.filter((k) => k.reasons.some((r) => r.rule === 'bucket' && r.bucket === bucket)).length
    expect([count('daily'), count('weekly'), count('monthly'), count('yearly')]).to.deep.equal([7, 5, 12, 75])
    expect(result.keep).to.have.length(7 + 4 + 11 + 74)
    expect(result.keep.some((k) => k.reasons.some((r) => r.rule === 'oldest'))).to.equal(false)
    expect(result.keep.at(-1)!.item.name).to.equal('1949-12-31')
    expect(result.keep[0].reasons.map((r) => reasonText(r))).to.deep.equal([
      'daily #1',
      'weekly #1',
      'monthly #1',
      'yearly #1',
    ])
  })

  it('23:59 and 00:01 UTC are different days; two backups of one day keep only the later', () => {
    const list = items('2024-03-01 00:01', '2024-03-01 23:59', '2024-03-02 00:01', '2024-03-02 12:00')
    expect(decide(list, {keepDaily: 2})).to.deep.equal({
      '2024-03-01 00:01': 'remove',
      '2024-03-01 23:59': 'daily #2',
      '2024-03-02 00:01': 'remove',
      '2024-03-02 12:00': 'daily #1',
    })
  })

  it('hourly: the newest backup of each hour, :00 to :59', () => {
    const list = items(
      '2024-05-01 10:00',
      '2024-05-01 10:59:59',
      '2024-05-01 11:00',
      '2024-05-01 11:30',
      '2024-05-01 13:05',
    )
    expect(decide(list, {keepHourly: 2})).to.deep.equal({
      '2024-05-01 10:00': 'remove',
      '2024-05-01 10:59:59': 'remove',
      '2024-05-01 11:00': 'remove',
      '2024-05-01 11:30': 'hourly #2',
      '2024-05-01 13:05': 'hourly #1',
    })
  })

  it('ISO week 53 spans the new year: weekly counts it once, yearly twice', () => {
    const list = items(
      '2020-12-27 09:00',
      '2020-12-31 09:00',
      '2021-01-01 09:00',
      '2021-01-03 09:00',
      '2021-01-04 09:00',
    )
    expect(decide(list, {keepWeekly: 2})).to.deep.equal({
      '2020-12-27 09:00': 'remove',
      '2020-12-31 09:00': 'remove',
      '2021-01-01 09:00': 'remove',
      '2021-01-03 09:00': 'weekly #2',
      '2021-01-04 09:00': 'weekly #1',
    })
    expect(decide(list, {keepYearly: 2})).to.deep.equal({
      '2020-12-27 09:00': 'remove',
      '2020-12-31 09:00': 'yearly #2',
      '2021-01-01 09:00': 'remove',
      '2021-01-03 09:00': 'remove',
      '2021-01-04 09:00': 'yearly #1',
    })
  })

  it('weeks run Monday to Sunday', () => {
    // Sunday 2024-03-10 23:59 and Monday 2024-03-11 00:01 are in different weeks.
    const list = items('2024-03-04 00:00', '2024-03-10 23:59', '2024-03-11 00:01')
    expect(decide(list, {keepWeekly: 2})).to.deep.equal({
      '2024-03-04 00:00': 'remove',
      '2024-03-10 23:59': 'weekly #2',
      '2024-03-11 00:01': 'weekly #1',
    })
  })

  it('months of different length and the leap day: the last backup of each month', () => {
    const list = items(
      '2024-01-30 05:00',
      '2024-01-31 05:00',
      '2024-02-28 05:00',
      '2024-02-29 05:00',
      '2024-03-01 05:00',
      '2024-03-31 05:00',
      '2024-04-30 05:00',
      '2024-05-01 05:00',
    )
    expect(decide(list, {keepMonthly: 4})).to.deep.equal({
      '2024-01-30 05:00': 'remove',
      '2024-01-31 05:00': 'remove',
      '2024-02-28 05:00': 'remove',
      '2024-02-29 05:00': 'monthly #4',
      '2024-03-01 05:00': 'remove',
      '2024-03-31 05:00': 'monthly #3',
      '2024-04-30 05:00': 'monthly #2',
      '2024-05-01 05:00': 'monthly #1',
    })
  })

  it('counts only periods that hold a backup (gaps are skipped, not counted)', () => {
    const list = items('2024-06-01 08:00', '2024-06-05 08:00', '2024-06-20 08:00', '2024-06-21 08:00')
    expect(decide(list, {keepDaily: 3})).to.deep.equal({
      '2024-06-01 08:00': 'remove',
      '2024-06-05 08:00': 'daily #3',
      '2024-06-20 08:00': 'daily #2',
      '2024-06-21 08:00': 'daily #1',
    })
  })

  it('kinds overlap: one backup can be the daily, weekly and monthly keeper', () => {
    const list = items('2024-04-28 02:00', '2024-04-29 02:00', '2024-04-30 02:00', '2024-05-01 02:00')
    expect(decide(list, {keepDaily: 2, keepWeekly: 2, keepMonthly: 2})).to.deep.equal({
      '2024-04-28 02:00': 'weekly #2', // Sunday: the previous week's last
      '2024-04-29 02:00': 'remove',
      '2024-04-30 02:00': 'daily #2, monthly #2',
      '2024-05-01 02:00': 'daily #1, weekly #1, monthly #1',
    })
  })

  it('keep-last keeps the N newest, whatever their dates', () => {
    const list = items('2024-01-01 00:00', '2024-01-01 00:01', '2024-01-01 00:02', '2024-01-01 00:03')
    expect(decide(list, {keepLast: 3})).to.deep.equal({
      '2024-01-01 00:00': 'remove',
      '2024-01-01 00:01': 'last #3',
      '2024-01-01 00:02': 'last #2',
      '2024-01-01 00:03': 'last #1',
    })
  })

  describe('a count that cannot be filled keeps the oldest backup too', () => {
    it('in an already kept period: marked oldest', () => {
      const list = items('2024-07-01 01:00', '2024-07-01 09:00', '2024-07-02 09:00', '2024-07-03 09:00')
      expect(decide(list, {keepDaily: 10})).to.deep.equal({
        '2024-07-01 01:00': 'oldest (daily count not filled)',
        '2024-07-01 09:00': 'daily #3',
        '2024-07-02 09:00': 'daily #2',
        '2024-07-03 09:00': 'daily #1',
      })
    })

    it('all in one month: the newest and the oldest', () => {
      const list = items('2024-07-01 01:00', '2024-07-09 01:00', '2024-07-20 01:00', '2024-07-31 01:00')
      expect(decide(list, {keepMonthly: 3})).to.deep.equal({
        '2024-07-01 01:00': 'oldest (monthly count not filled)',
        '2024-07-09 01:00': 'remove',
        '2024-07-20 01:00': 'remove',
        '2024-07-31 01:00': 'monthly #1',
      })
    })

    it('not when the count is filled exactly by the oldest period', () => {
      const list = items('2024-07-01 01:00', '2024-07-01 09:00', '2024-07-02 09:00')
      expect(decide(list, {keepDaily: 2})).to.deep.equal({
        '2024-07-01 01:00': 'remove',
        '2024-07-01 09:00': 'daily #2',
        '2024-07-02 09:00': 'daily #1',
      })
    })

    it('with unlimited, every period and the oldest', () => {
      const list = items('2024-07-01 01:00', '2024-07-01 09:00', '2024-07-02 08:00', '2024-07-02 09:00')
      expect(decide(list, {keepDaily: 'unlimited'})).to.deep.equal({
        '2024-07-01 01:00': 'oldest (daily count not filled)',
        '2024-07-01 09:00': 'daily #2',
        '2024-07-02 08:00': 'remove',
        '2024-07-02 09:00': 'daily #1',
      })
    })
  })

  describe('keep-within', () => {
    it('is measured from the newest backup, not from now: a stalled mirror keeps its last stretch', () => {
      const list = items('2020-01-01 00:00', '2020-02-20 00:00', '2020-02-25 12:00', '2020-03-01 12:00')
      expect(decide(list, {keepWithin: '7d'}, utc('2026-01-01 00:00'))).to.deep.equal({
        '2020-01-01 00:00': 'remove',
        '2020-02-20 00:00': 'remove',
        '2020-02-25 12:00': 'within 7d',
        '2020-03-01 12:00': 'within 7d',
      })
    })

    it('keeps what is strictly newer than newest - duration (leap day, months of different length)', () => {
      const list = items('2024-02-29 12:00', '2024-03-02 12:00', '2024-03-02 12:00:01', '2024-03-31 12:00')
      expect(decide(list, {keepWithin: '1m'})).to.deep.equal({
        '2024-02-29 12:00': 'remove',
        '2024-03-02 12:00': 'remove',
        '2024-03-02 12:00:01': 'within 1m',
        '2024-03-31 12:00': 'within 1m',
      })
      const hours = items('2024-02-28 23:00', '2024-02-28 23:00:01', '2024-02-29 11:00')
      expect(kept(hours, {keepWithin: '12h'})).to.deep.equal(['2024-02-28 23:00:01', '2024-02-29 11:00'])
    })

    it('a backup dated in the future does not move the reference (given now), and is kept', () => {
      const list = items('2024-01-05 00:00', '2024-01-09 00:00', '2024-01-10 00:00', '2030-01-01 00:00')
      expect(kept(list, {keepWithin: '2d'}, utc('2024-01-11 00:00'))).to.deep.equal([
        '2024-01-09 00:00',
        '2024-01-10 00:00',
        '2030-01-01 00:00',
      ])
      expect(kept(list, {keepWithin: '2d'})).to.deep.equal(['2030-01-01 00:00'])
    })

    it('a backup dated more than a day ahead of now is suspect: kept, never the anchor, never the newest', () => {
      const list = items('2024-01-05 00:00', '2024-01-09 00:00', '2024-01-10 00:00', '2099-01-01 00:00')
      const now = utc('2024-01-11 00:00')
      expect(decide(list, {keepWithin: '30d'}, now)).to.deep.equal({
        '2024-01-05 00:00': 'within 30d',
        '2024-01-09 00:00': 'within 30d',
        '2024-01-10 00:00': 'within 30d',
        '2099-01-01 00:00': 'dated in the future: not trusted, kept',
      })
      // Not one of a count either: --keep-last 1 keeps the real newest.
      expect(decide(list, {keepLast: 1}, now)).to.deep.equal({
        '2024-01-05 00:00': 'remove',
        '2024-01-09 00:00': 'remove',
        '2024-01-10 00:00': 'last #1',
        '2099-01-01 00:00': 'dated in the future: not trusted, kept',
      })
      // Within a day ahead (clock skew) a backup is still a backup.
      expect(kept(items('2024-01-10 00:00', '2024-01-11 23:00'), {keepLast: 1}, now)).to.deep.equal([
        '2024-01-11 23:00',
      ])
      // Only suspect ones: nothing else to decide.
      expect(decide(items('2099-01-01 00:00'), {keepLast: 1}, now)).to.deep.equal({
        '2099-01-01 00:00': 'dated in the future: not trusted, kept',
      })
    })

    it('is OR-ed with the counted rules, and listed first', () => {
      const list = items('2024-01-01 00:00', '2024-01-08 00:00', '2024-01-09 00:00', '2024-01-10 00:00')
      expect(decide(list, {keepWithin: '1d12h', keepMonthly: 1})).to.deep.equal({
        '2024-01-01 00:00': 'remove',
        '2024-01-08 00:00': 'remove',
        '2024-01-09 00:00': 'within 1d12h',
        '2024-01-10 00:00': 'within 1d12h, monthly #1',
      })
    })
  })

  it('the order of the input does not matter; the result is newest first', () => {
    const list = items('2024-01-03 00:00', '2024-01-01 00:00', '2024-01-02 00:00')
    const result = applyRetention(list, parsePolicy({keepLast: 2}))
    expect(result.keep.map((k) => k.item.name)).to.deep.equal(['2024-01-03 00:00', '2024-01-02 00:00'])
    expect(result.remove.map((i) => i.name)).to.deep.equal(['2024-01-01 00:00'])
  })
})

/** A small seeded generator (xorshift32), so that every random timeline can be replayed by its seed. */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4_294_967_296
  }
}

/**
 * An independent statement of the rules, checked against the implementation on random timelines:
 * for each counted kind, the newest backup of each of the newest N periods that hold a backup, plus
 * the oldest backup when there are fewer than N such periods; everything strictly newer than newest
 * minus the duration. Weeks here are numbered from the Monday before the epoch, not by ISO week-year.
 */
describe('plan/retention: against a reference model on random timelines', () => {
  const periodKey: Record<Exclude<BucketKind, 'last'>, (d: Date) => string> = {
    hourly: (d) => d.toISOString().slice(0, 13),
    daily: (d) => d.toISOString().slice(0, 10),
    // 1970-01-01 was a Thursday: days + 3 counts from the Monday before it.
    weekly: (d) => String(Math.floor((Math.floor(d.getTime() / 86_400_000) + 3) / 7)),
    monthly: (d) => d.toISOString().slice(0, 7),
    yearly: (d) => d.toISOString().slice(0, 4),
  }

  function reference(list: Item[], policy: RetentionPolicy): Set<string> {
    const sorted = [...list].sort((a, b) => b.date.getTime() - a.date.getTime())
    const keep = new Set<string>()
    for (const [kind, n] of Object.entries(policy.counts) as Array<[BucketKind, number]>) {
      const key = kind === 'last' ? (_d: Date, i: number) => String(i) : (d: Date) => periodKey[kind](d)
      const newestOfPeriod = new Map<string, Item>()
      for (const [i, it] of sorted.entries())
        if (!newestOfPeriod.has(key(it.date, i))) newestOfPeriod.set(key(it.date, i), it)
      const periods = [...newestOfPeriod.values()]
      for (const it of periods.slice(0, n)) keep.add(it.name)
      if (periods.length < n && sorted.length > 0) keep.add(sorted.at(-1)!.name)
    }

    if (policy.within) {
      const threshold = subtractDuration(sorted[0].date, policy.within).getTime()
      for (const it of sorted) if (it.date.getTime() > threshold) keep.add(it.name)
    }

    return keep
  }

  const kinds: BucketKind[] = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']
  for (let seed = 1; seed <= 300; seed++) {
    it(`seed ${seed}`, () => {
      const random = seededRandom(seed * 2_654_435_761)
      const start = Date.UTC(2019, 11, 20)
      const span = [2, 20, 400, 3000][seed % 4] * 86_400_000
      const names = new Set<string>()
      const list: Item[] = []
      const n = 1 + Math.floor(random() * 60)
      for (let i = 0; i < n; i++) {
        const date = new Date(start + Math.floor((random() * span) / 1000) * 1000)
        const name = date.toISOString()
        if (names.has(name)) continue
        names.add(name)
        list.push({date, name})
      }

      const policy: RetentionPolicy = {counts: {}}
      for (const kind of kinds) if (random() < 0.4) policy.counts[kind] = 1 + Math.floor(random() * 8)
      if (random() < 0.3)
        policy.within = {years: 0, months: Math.floor(random() * 3), days: Math.floor(random() * 20), hours: 1}
      if (Object.keys(policy.counts).length === 0 && !policy.within) policy.counts.daily = 3

      const result = applyRetention(list, policy)
      const keep = new Set(result.keep.map((k) => k.item.name))
      expect([...keep].sort()).to.deep.equal([...reference(list, policy)].sort())
      const newest = [...list].sort((a, b) => b.date.getTime() - a.date.getTime())[0]
      expect(keep.has(newest.name), 'the newest is kept').to.equal(true)
      expect(result.remove.every((it) => !keep.has(it.name))).to.equal(true)
      expect(result.keep.length + result.remove.length).to.equal(list.length)
    })
  }
})
