#!/bin/bash

# pantheon-backup-to-s3.sh, as in Pantheon's "Access Backups" guide (../shared/seed/access-backups.md),
# re-enacted for bench/mirror.ts. The loop is the original's, line for line: serial backup:create,
# serial backup:get --to into one local folder, then one upload of that folder. What changed, and why:
#   - the settings come from the environment (same names as the script's variables), so the bench can
#     point them at the sandbox;
#   - the upload takes --endpoint-url (the bench's S3 is a local s3rver), and without an `aws` CLI it
#     runs $UPLOADER DIR BUCKET instead (a serial PutObject loop), so the bench runs anywhere;
#   - `set -e`-free as the original, but the script exits non-zero if anything it ran failed, so the
#     bench can tell (the original would carry on and upload whatever it got).
#
# Requirements: terminus (here: the sandbox stand-in on PATH), aws CLI or $UPLOADER.

# The amazon S3 bucket to save the backups to (must already exist)
S3BUCKET="${S3BUCKET:-}"
# Optionally specify bucket region
S3BUCKETREGION="${S3BUCKETREGION:-}"
# The Pantheon terminus user (email address)
TERMINUSUSER="${TERMINUSUSER:-}"
# Site names to backup (e.g. 'site-one site-two')
SITENAMES="${SITENAMES:-}"
# Site environments to backup (any combination of dev, test and live)
SITEENVS="${SITEENVS:-dev live}"
# Elements of backup to be downloaded.
ELEMENTS="${ELEMENTS:-code files db}"
# Local backup directory (must exist, requires trailing slash)
BACKUPDIR="${BACKUPDIR:-<local-path-to-folder>/}"
# Add a date and unique string to the filename
BACKUPDATE=$(date +%Y%m%d%s)
# This sets the proper file extension
EXTENSION="tar.gz"
DBEXTENSION="sql.gz"
# Hide Terminus update messages
TERMINUS_HIDE_UPDATE_MESSAGES=1
# Bench only: the S3 endpoint (s3rver), and the uploader to use when there is no aws CLI
S3ENDPOINT="${S3ENDPOINT:-}"
UPLOADER="${UPLOADER:-}"
NO_AWS="${NO_AWS:-}"

FAILED=0

# connect to terminus
terminus auth:login --email $TERMINUSUSER || FAILED=1

# iterate through sites to backup
for thissite in $SITENAMES; do
  # iterate through current site environments
  for thisenv in $SITEENVS; do
    # create backup
    terminus backup:create $thissite.$thisenv || FAILED=1

    # iterate through backup elements
    for element in $ELEMENTS; do
      # download current site backups
      if [[ $element == "db" ]]; then
        terminus backup:get --element=$element --to=$BACKUPDIR$thissite.$thisenv.$element.$BACKUPDATE.$DBEXTENSION $thissite.$thisenv || FAILED=1
      else
        terminus backup:get --element=$element --to=$BACKUPDIR$thissite.$thisenv.$element.$BACKUPDATE.$EXTENSION $thissite.$thisenv || FAILED=1
      fi
    done
  done
done
echo $BACKUPDIR

# sync the local backup directory to aws s3
ENDPOINTARGS=()
if [ -n "${S3ENDPOINT}" ]; then
  ENDPOINTARGS=(--endpoint-url "$S3ENDPOINT")
fi
# Debian's aws CLI (apt-get install awscli); the bench does not trust whatever else is on PATH.
AWSCLI="${AWSCLI:-/usr/bin/aws}"
if [ -z "${NO_AWS}" ] && [ -x "$AWSCLI" ]; then
  echo "upload: aws s3 sync ($($AWSCLI --version 2>&1 | cut -d' ' -f1))"
  if [ -z "${S3BUCKETREGION}" ]; then
    $AWSCLI s3 sync $BACKUPDIR s3://$S3BUCKET "${ENDPOINTARGS[@]}" || FAILED=1
  else
    $AWSCLI s3 sync $BACKUPDIR s3://$S3BUCKET --region $S3BUCKETREGION "${ENDPOINTARGS[@]}" || FAILED=1
  fi
elif [ -n "${UPLOADER}" ]; then
  echo "upload: serial PutObject loop (no aws CLI)"
  $UPLOADER $BACKUPDIR $S3BUCKET || FAILED=1
else
  echo "no aws CLI and no UPLOADER: cannot upload" >&2
  FAILED=1
fi

exit $FAILED
