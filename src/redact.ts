/**
 * Signed URLs grant access to database dumps and tokens grant access to accounts: nothing that pbm
 * prints or logs may contain either. Every message that could carry one goes through redact(), on the
 * raw text, before any reflow: Symfony wraps a long URL across the lines of its error box, so a
 * secret can start on one line and end on the next.
 */

/** Query parameters that carry a signature or a credential, by name (GCS V2/V4, AWS SigV4). */
export const SECRET_PARAMETERS = [
  'Signature',
  'GoogleAccessId',
  'X-Goog-Signature',
  'X-Goog-Credential',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'AWSAccessKeyId',
] as const

// A value that reaches the end of a line may go on at the start of the next (a hard-wrapped URL):
// take the next line's first word too. Redacting one word too many is the safe side.
const WRAPPED = String.raw`(?:[ \t]*\r?\n[ \t]*[^\s"'<>&]+)*`
const URL_WITH_QUERY = new RegExp(String.raw`\b(https?:\/\/[^\s?"'<>]+)\?[^\s"'<>]*${WRAPPED}`, 'g')
const SECRET_PARAMETER = new RegExp(String.raw`(^|[^\w-])(${SECRET_PARAMETERS.join('|')})=[^\s"'<>&]*${WRAPPED}`, 'gim')
// A placeholder in advice (`--machine-token=<token>`) is not a token.
const TOKEN_FLAG = /(--machine-token[= ])(?!<)\S+/g
export function redact(text: string): string {
  return text
    .replaceAll(URL_WITH_QUERY, '$1?<redacted>')
    .replaceAll(SECRET_PARAMETER, '$1$2=<redacted>')
    .replaceAll(TOKEN_FLAG, '$1<redacted>')
}

/** A URL safe to show: origin and path, no query string. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : `${url.slice(0, q)}?<redacted>`
}
