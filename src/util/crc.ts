/** CRC32C as 8 hex digits, as pbm records and compares it everywhere. */
export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0')
}
