export {ResumableDownload} from './download.js'
export {
  type DestinationResult,
  transferArchive,
  TransferError,
  TransferInterrupted,
  type TransferJob,
  type TransferResult,
} from './engine.js'
export {parseContentRange, parseGoogHash} from './headers.js'
export type {Phase, Progress} from './progress.js'
export {type ExistingVerdict, judgeExisting, type SourceFacts} from './safety.js'
export {StreamVerifier} from './verify.js'
