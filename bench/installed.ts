/**
 * The package as npm installs it, for benches that run the CLI: bin/, dist/ and package.json of a
 * package root copied into a temporary folder, node_modules linked, and its `oclif.manifest.json`
 * generated, as in the npm tarball (`prepack`). A checkout has no manifest: oclif then imports every
 * command at start (0.7 s instead of 0.3 s for `pbm --version` here, ~18 MB more RSS), which a user
 * of the package never pays.
 */
import {execa} from 'execa'
import {cp, mkdtemp, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** A staged copy of the package at `root` (built already); remove it when done. */
export async function installedCopy(root: string, prefix = 'pbm-bench-pkg-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  await Promise.all(
    ['bin', 'dist', 'package.json'].map((f) => cp(path.join(root, f), path.join(dir, f), {recursive: true})),
  )
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  await execa(path.join(ROOT, 'node_modules', '.bin', 'oclif'), ['manifest'], {
    cwd: dir,
    env: {OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
  })
  return dir
}
