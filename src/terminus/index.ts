export * from './errors.js'
export {signedUrlExpiry} from './parse.js'
export * from './terminus.js'
export * from './types.js'
