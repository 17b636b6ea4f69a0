#!/usr/bin/env bash
# Builds the deployment package of the function app in a folder of its own: the compiled functions and the
# pipeline they load, host.json, package.json, and node_modules with the production dependencies only.
# Publishing the repository itself would zip every devDependency (TypeScript, Jest, Biome, tree-sitter:
# about 230 MB) into a package that Flex Consumption downloads on every cold start.
#
#   scripts/stage-package.sh <folder>      # the folder is emptied first
#
# Used by `npm run publish:azure` and by azd (azure.yaml), so both deploy the same package.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: stage-package.sh <folder>}
case $(realpath -m "$out") in
  "$root" | / | "$HOME") echo "error: refusing to empty $out" >&2 && exit 2 ;;
esac

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

cd "$root"
# Compiled straight into the package, so the build never touches (or races with) the repository's dist/.
node_modules/.bin/tsc -p tsconfig.build.json --outDir "$out/dist" --sourceMap false
# Tools, the simulator and test helpers are compiled with the app but are not part of it (as .funcignore).
rm -rf "$out/dist/cli" "$out/dist/simulator" "$out/dist/test"

cp host.json package-lock.json "$out/"
# No scripts (nothing is built on the server, and the build script needs devDependencies) and no bin (the
# CLI is not shipped). devDependencies stay listed: `npm ci` insists that package.json matches the lock file.
node -e '
  const pkg = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  delete pkg.scripts;
  delete pkg.bin;
  require("node:fs").writeFileSync(process.argv[2], `${JSON.stringify(pkg, null, 2)}\n`);
' package.json "$out/package.json"

# Exactly the locked production dependencies. No install scripts: every dependency ships prebuilt. The CLI's
# own dependencies (commander, cli-progress, cli-table3) are optionalDependencies: every install of the
# repository or of a packed copy (`npm ci`, `npm i -g`) gets them, and the functions never import them, so
# the package leaves them out (test/infra/package-dependencies.test.ts keeps the two lists apart).
(cd "$out" && npm ci --omit=dev --omit=optional --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
# Source maps and TypeScript sources and declarations are never loaded at run time (the app's own dist has no
# maps either): about half the bytes and files of the dependencies, which Flex downloads on every cold start.
find "$out/node_modules" -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete

# The API reference page (functions/docs.ts) serves two files of swagger-ui-dist; its other bundles are
# about 11 MB that nothing loads.
find "$out/node_modules/swagger-ui-dist" -type f ! -name 'swagger-ui-bundle.js' ! -name 'swagger-ui.css' \
  ! -name 'package.json' ! -name 'LICENSE' ! -name 'NOTICE' ! -name '*.LICENSE.txt' -delete

# azd keeps node_modules only when the folder has a .funcignore of its own; Core Tools reads it too.
printf '# Written by scripts/stage-package.sh: everything in this folder is the package.\n.funcignore\n' \
  >"$out/.funcignore"

echo "Staged $(du -sh "$out" | cut -f1) in $out (node_modules: $(du -sh "$out/node_modules" | cut -f1))"
