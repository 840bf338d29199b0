export type Phase =
  'checking' | 'committing' | 'done' | 'downloading' | 'resolving' | 'retrying' | 'skipped' | 'verifying'

export interface Progress {
  phase: Phase
  /** Bytes downloaded (and verified so far) of this archive. */
  bytes: number
  total?: number
  rateBytesPerSec?: number
  etaSeconds?: number
  /** A short, redacted note for people, e.g. "connection dropped at 12.3 MB, resuming". */
  note?: string
}

const WINDOW_MS = 5000

/**
 * Turns engine events into throttled Progress events: every phase change and note at once, byte
 * counts at most every `intervalMs`. The rate is measured over the last few seconds.
 */
export class ProgressReporter {
  private phase: Phase = 'checking'
  private bytes = 0
  private total?: number
  private last = 0
  private readonly samples: Array<[number, number]> = []

  constructor(
    private readonly listener?: (p: Progress) => void,
    private readonly intervalMs = 200,
    private readonly now: () => number = () => performance.now(),
  ) {}

  set(phase: Phase, note?: string): void {
    if (!this.listener) return
    this.phase = phase
    this.emit(note)
  }

  setTotal(total: number | undefined): void {
    this.total = total
  }

  tick(bytes: number): void {
    this.bytes = bytes
    if (!this.listener) return
    const t = this.now()
    if (t - this.last < this.intervalMs) return
    if (this.phase !== 'downloading') this.phase = 'downloading'
    this.emit()
  }

  private emit(note?: string): void {
    const t = this.now()
    this.last = t
    this.samples.push([t, this.bytes])
    while (this.samples.length > 2 && t - this.samples[0][0] > WINDOW_MS) this.samples.shift()
    const p: Progress = {phase: this.phase, bytes: this.bytes}
    if (this.total !== undefined) p.total = this.total
    const [t0, b0] = this.samples[0]
    if (t - t0 >= 200 && this.bytes >= b0) {
      p.rateBytesPerSec = ((this.bytes - b0) * 1000) / (t - t0)
      if (this.total !== undefined && p.rateBytesPerSec > 0)
        p.etaSeconds = Math.max(0, (this.total - this.bytes) / p.rateBytesPerSec)
    }

    if (note) p.note = note
    this.listener!(p)
  }
}
