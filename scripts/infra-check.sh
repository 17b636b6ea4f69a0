#!/usr/bin/env bash
# Compiles and lints the Bicep of infra/ with the real Bicep CLI: `bicep build` on every .bicep file (it
# reports the linter's rules as `bicep lint` does), `bicep build-params` on every .bicepparam file. Fails on
# any error, and on any warning not in the allow-list below. Then checks itself: a deliberately broken file
# and a file with a linter warning must both fail the same check, or the compiler is not really looking.
#
# Each command takes every file at once (--pattern, Bicep 0.28 or later), side by side: two CLI starts for
# infra/ and one per self-check tree instead of two per file, since starting the CLI costs more than
# compiling a file.
#
# infra/permissions.bicep is left out: its Microsoft Graph extension is restored from a registry at build
# time, which CI cannot reach. The tree-sitter tests (test/infra) check it instead.
#
#   npm run infra:check                  # finds BICEP_BIN, `bicep` or ~/.azure/bin/bicep
#   scripts/infra-check.sh [infra-dir]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
infra_dir=$(cd "${1:-$root/infra}" && pwd)

# Warnings the compiler reports on valid templates, as "<file under infra/>|<code>|<text the message contains>".
# Each is a gap in the generated resource types, not in the template; keep the list short.
ALLOWED_WARNINGS=(
  # ARM rejects a publishing-credentials policy without location ("The parameter location has an invalid
  # value"; Azure/bicep-types-az#1317, #1526), but no API version of the type declares the property.
  'modules/functionapp.bicep|BCP187|The property "location" does not exist'
  # An API connection authenticated with a managed identity needs parameterValueType 'Alternative' (as
  # Microsoft's Sentinel playbook templates set it); the type of Microsoft.Web/connections lacks it.
  'modules/sentinel-playbook.bicep|BCP037|The property "parameterValueType" is not allowed'
)

bicep_cli=()
if [[ -n ${BICEP_BIN:-} ]]; then
  bicep_cli=("$BICEP_BIN")
elif command -v bicep >/dev/null; then
  bicep_cli=(bicep)
elif [[ -x $HOME/.azure/bin/bicep ]]; then
  # Where `az bicep install` puts the CLI (az's own `az bicep` takes one file per start).
  bicep_cli=("$HOME/.azure/bin/bicep")
else
  cat >&2 <<'HOW'
infra:check needs the Bicep CLI, and none was found (BICEP_BIN, `bicep` on PATH, or ~/.azure/bin/bicep). Either:
  - Azure CLI:  az bicep install
  - .NET SDK:   export BICEP_BIN=$(scripts/install-bicep.sh)   (from NuGet, cached under ~/.cache/mde-isolator)
  - or install it yourself: https://learn.microsoft.com/azure/azure-resource-manager/bicep/install
then run `npm run infra:check` again.
HOW
  exit 1
fi

allowed() {
  local file=$1 code=$2 message=$3 entry
  for entry in "${ALLOWED_WARNINGS[@]}"; do
    IFS='|' read -r allowed_file allowed_code allowed_text <<<"$entry"
    [[ $file == "$allowed_file" && $code == "$allowed_code" && $message == *"$allowed_text"* ]] && return 0
  done
  return 1
}

# check_tree <dir>: prints every diagnostic (relative to <dir>) and returns 1 when one is not allowed.
check_tree() {
  local dir=$1 tree out log failed=0
  # A copy without permissions.bicep, so that one pattern takes every other file; the outputs go to folders
  # of their own (build and build-params would both write main.json).
  tree=$(cd "$(mktemp -d)" && pwd -P)
  out=$(mktemp -d)
  cp -R "$dir/." "$tree"
  rm -f "$tree/permissions.bicep"
  local -a commands=('build --pattern **/*.bicep') pids=() args=()
  if [[ -n $(find "$tree" -name '*.bicepparam' -print -quit) ]]; then
    commands+=('build-params --pattern **/*.bicepparam')
  fi
  local i
  for i in "${!commands[@]}"; do
    read -r -a args <<<"${commands[$i]}"
    args+=(--outdir "$out/$i")
    (cd "$tree" && "${bicep_cli[@]}" "${args[@]}" >"$out/$i.log" 2>&1) &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed=1; done
  log="$out/diagnostics.txt"
  cat "$out"/*.log >"$log"
  # A file's diagnostics also show when a file using it is built, so each is reported once.
  local line path code message
  while IFS= read -r line; do
    if [[ $line =~ ^(.*)\([0-9]+,[0-9]+\)\ :\ (Error|Warning)\ ([A-Za-z0-9-]+):\ (.*)$ ]]; then
      path=${BASH_REMATCH[1]#"$tree"/}
      code=${BASH_REMATCH[3]}
      message=${BASH_REMATCH[4]}
      if [[ ${BASH_REMATCH[2]} == Warning ]] && allowed "$path" "$code" "$message"; then
        echo "  allowed: $path${line#"${BASH_REMATCH[1]}"}"
      else
        echo "  $path${line#"${BASH_REMATCH[1]}"}"
        failed=1
      fi
    elif [[ -n $line ]]; then
      echo "  $line"
    fi
  done < <(sort -u "$log")
  rm -rf "$out" "$tree"
  return $failed
}

echo "Bicep: ${bicep_cli[*]} ($("${bicep_cli[@]}" --version 2>/dev/null | head -n 1))"
echo "Checking $infra_dir"
# The self-check: the same check must refuse a compile error and a linter warning. Its two trees are checked
# alongside infra/.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/error" "$scratch/warning"
printf "resource site 'Microsoft.Web/sites@2023-12-01' = {\n  name: 42\n  location: 'westeurope'\n}\n" \
  >"$scratch/error/self-check-error.bicep"
printf "param unused string\n" >"$scratch/warning/self-check-warning.bicep"
check_tree "$infra_dir" >"$scratch/infra.log" &
infra=$!
for kind in error warning; do
  (check_tree "$scratch/$kind" >"$scratch/$kind.log" && touch "$scratch/$kind.passed" || true) &
done
infra_failed=0
wait "$infra" || infra_failed=1
wait
cat "$scratch/infra.log"
if ((infra_failed)); then
  echo 'infra:check FAILED: fix the errors and warnings above (or, for a gap in the resource types, allow it in scripts/infra-check.sh with the reason)' >&2
  exit 1
fi
for kind in error warning; do
  if [[ -e $scratch/$kind.passed ]]; then
    echo "infra:check self-check FAILED: a file with a deliberate $kind passed:" >&2
    cat "$scratch/$kind.log" >&2
    exit 1
  fi
  echo "Self-check: a deliberate $kind fails the check:"
  cat "$scratch/$kind.log"
done
echo 'infra:check passed'
