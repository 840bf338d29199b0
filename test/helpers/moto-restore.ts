/** moto for the presign and restore tests: test/helpers/moto.ts's server, with `stop()`. */
import {startMoto} from './moto.js'

export {MOTO_CREDENTIALS} from './moto.js'

export interface MotoServer {
  endpoint: string
  stop(): Promise<void>
}

export async function startMotoRestore(): Promise<MotoServer> {
  const moto = await startMoto()
  return {endpoint: moto.endpoint, stop: () => moto.close()}
}
