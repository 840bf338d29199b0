// node .ci/check-installed.mjs DIR: the package installed at DIR (by `npm install -g TARBALL`) has exactly
// the dependency tree of its npm-shrinkwrap.json: every production package at the version it pins, and
// nothing it does not list (no devDependencies).
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

const dir = process.argv[2]
const shrinkwrap = JSON.parse(readFileSync(path.join(dir, 'npm-shrinkwrap.json'), 'utf8'))
const problems = []
const pinned = new Map()
for (const [key, entry] of Object.entries(shrinkwrap.packages)) {
  if (key === '' || entry.dev) continue
  pinned.set(key, entry)
  const manifest = path.join(dir, key, 'package.json')
  if (!existsSync(manifest)) {
    // Optional packages for other platforms (a native addon's prebuilt binaries) are skipped by npm.
    if (!entry.optional) problems.push(`${key}: missing`)
    continue
  }

  const {version} = JSON.parse(readFileSync(manifest, 'utf8'))
  if (version !== entry.version) problems.push(`${key}: ${version}, the shrinkwrap pins ${entry.version}`)
}

/** Every package folder under node_modules, as the shrinkwrap keys them. */
function installed(base) {
  const found = []
  const modules = path.join(dir, base, 'node_modules')
  if (!existsSync(modules)) return found
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.')) continue
    const names = name.startsWith('@') ? readdirSync(path.join(modules, name)).map((n) => `${name}/${n}`) : [name]
    for (const n of names) {
      const key = path.posix.join(base, 'node_modules', n)
      found.push(key, ...installed(key))
    }
  }

  return found
}

const extra = installed('').filter((key) => !pinned.has(key))
for (const key of extra) problems.push(`${key}: installed, not in the shrinkwrap (or a devDependency)`)
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}

console.log(`   ${pinned.size} packages pinned by npm-shrinkwrap.json, installed as pinned, no others`)
