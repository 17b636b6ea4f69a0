#!/usr/bin/env bash
# Runs a package upload command, and runs it again while it fails only because storage refused the upload
# (403). On a new function app the platform writes the package to the deployment container with the app's own
# identity, whose new Storage Blob Data Owner role can take up to 10 minutes to apply
# (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting). Pauses grow from 15 s to
# 2 min, about 10 minutes in all; any other failure stops at once with the command's status.
#
#   scripts/retry-upload.sh func azure functionapp publish <app> --node
#   UPLOAD_RETRY_SECONDS=<first pause>   (default 15)
set -euo pipefail

readonly ATTEMPTS=8
readonly LONGEST_PAUSE=120
pause=${UPLOAD_RETRY_SECONDS:-15}
output=$(mktemp)
trap 'rm -f "$output"' EXIT

for ((attempt = 1; ; attempt++)); do
  status=0
  "$@" 2>&1 | tee "$output" || status=$?
  ((status == 0)) && exit 0
  # Core Tools says "Azure Storage responded with Forbidden" or "BlobUploadFailedException ... 403"; a 403
  # of the deployment endpoint itself (the signed-in account lacks a role on the app) names no storage.
  grep -Eiq 'storage.*(403|forbidden)|(403|forbidden).*storage' "$output" || exit "$status"
  if ((attempt == ATTEMPTS)); then
    echo "error: storage still refused the package upload (403) after $ATTEMPTS attempts. Check that the app's" >&2
    echo "identity holds Storage Blob Data Owner on its storage account, then run the same command again." >&2
    exit "$status"
  fi
  echo "upload: storage refused the package (403): the app identity's new role may not apply yet (up to" >&2
  echo "10 minutes after provisioning); attempt $((attempt + 1)) of $ATTEMPTS in $pause s" >&2
  sleep "$pause"
  pause=$((pause * 2 > LONGEST_PAUSE ? LONGEST_PAUSE : pause * 2))
done
