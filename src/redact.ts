/**
 * Signed URLs grant access to database dumps and tokens grant access to accounts: nothing that pbm
 * prints or logs may contain either. Every message that could carry one goes through redact().
 */
const URL_WITH_QUERY = /\b(https?:\/\/[^\s?"'<>]+)\?[^\s"'<>]*/g
// A placeholder in advice (`--machine-token=<token>`) is not a token.
const TOKEN_FLAG = /(--machine-token[= ])(?!<)\S+/g
// Signing parameters seen without their URL (a wrapped line, a quoted fragment): S3 SigV4 presigned
// URLs, S3 SigV2, and GCS V2/V4 signed URLs.
const SIGNING_PARAM =
  /\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|Signature|GoogleAccessId|AWSAccessKeyId)=(?!<redacted>)[^\s&"'<>]+/gi

export function redact(text: string): string {
  return text
    .replaceAll(URL_WITH_QUERY, '$1?<redacted>')
    .replaceAll(SIGNING_PARAM, '$1=<redacted>')
    .replaceAll(TOKEN_FLAG, '$1<redacted>')
}

/** A URL safe to show: origin and path, no query string. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : `${url.slice(0, q)}?<redacted>`
}
