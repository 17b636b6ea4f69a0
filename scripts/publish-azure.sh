#!/usr/bin/env bash
# Publishes the function app: stages the lean package (scripts/stage-package.sh) and hands that folder to
# Azure Functions Core Tools, naming the runtime. Core Tools otherwise learns the language only from
# local.settings.json (gitignored) or FUNCTIONS_WORKER_RUNTIME, and on a fresh clone stops with
# "Worker runtime cannot be 'None'". `--node` and not `--typescript`: the package holds compiled
# JavaScript, and `--typescript` would have Core Tools build it again, without the devDependencies.
#
# On a new app the first upload can fail with 403 while the app identity's storage role propagates:
# scripts/retry-upload.sh retries that failure alone.
#
#   npm run publish:azure -- <function-app-name> [more options for func azure functionapp publish]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
app=${1:-}
if [[ ! $app =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]$ ]]; then
  echo 'usage: npm run publish:azure -- <function-app-name> [func azure functionapp publish options]' >&2
  echo '(the name is the functionAppName output of the infra deployment)' >&2
  exit 2
fi
shift
if ! command -v func >/dev/null; then
  echo 'error: Azure Functions Core Tools v4 (func) is not installed:' >&2
  echo '  https://learn.microsoft.com/azure/azure-functions/functions-run-local#install-the-azure-functions-core-tools' >&2
  exit 1
fi

package=${PACKAGE_DIR:-$root/.deploy/package}
"$root/scripts/stage-package.sh" "$package"
cd "$package"

"$root/scripts/retry-upload.sh" func azure functionapp publish "$app" --node "$@"
