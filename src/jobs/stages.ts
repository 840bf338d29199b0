import type {Inventory, InventoryObject} from '../destination/inventory.js'
import type {EventSink} from './events.js'

import {isStageKey} from '../destination/stage.js'

/**
 * Restore stages found while a job lists a bucket (backup:prune): a crashed or twice-interrupted
 * `backup:restore --stage` can leave one, and nothing else would ever delete it. watch() passes the
 * listing through and notes the keys named like stages; sweep() then deletes those whose own metadata
 * proves them pbm's stages with an expired URL (src/destination/stage.ts), never anything else.
 */
export class StageSweep {
  private readonly keys: string[] = []

  constructor(
    private readonly inventory: Inventory,
    private readonly events: EventSink,
  ) {}

  /** Deletes the expired stages seen (not on a dry run); each outcome is a `stage:swept` event. */
  async sweep(dryRun: boolean, signal?: AbortSignal): Promise<void> {
    if (dryRun || this.keys.length === 0 || !this.inventory.sweepStages) return
    for (const swept of await this.inventory.sweepStages(this.keys, signal)) {
      this.events.emit({type: 'stage:swept', ...swept})
    }
  }

  async *watch(pages: AsyncIterable<InventoryObject[]>): AsyncIterable<InventoryObject[]> {
    for await (const page of pages) {
      for (const object of page) if (isStageKey(object.key)) this.keys.push(object.key)
      yield page
    }
  }
}
