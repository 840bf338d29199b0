export {
  type BackupRequest,
  MIN_RESTIC_VERSION,
  PASSWORD_VARIABLES,
  Restic,
  ResticBackup,
  type ResticOptions,
  scrubUrl,
  type Snapshot,
} from './restic.js'
