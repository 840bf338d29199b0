/** "2024-05-01 03:12:44 UTC": how pbm writes an instant for people (a backup's time, a URL's expiry). */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}
