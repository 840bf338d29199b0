/** A site as `terminus site:list` / `org:site:list` describe it. */
export interface Site {
  name: string
  id: string
  plan: string
  framework: string
  frozen: boolean
  /** org:site:list only: the site's tags. */
  tags: string[]
}

/** An environment as `terminus env:list SITE` describes it. */
export interface Environment {
  name: string
  id: string
  initialized: boolean
  locked: boolean
  connectionMode: string
  domain: string
}
