export {checkKey} from './key.js'
export {createLocalDestination, type LocalDestinationOptions} from './local.js'
export {createS3Destination, DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, META, type S3DestinationOptions} from './s3.js'
export type {ArchiveMeta, Destination, ExistingObject, Sink} from './types.js'
