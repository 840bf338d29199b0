/** "1 archive", "3 archives": a count and its noun (regular English plurals only). */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
