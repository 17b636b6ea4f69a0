#!/usr/bin/env bash
# Installs the Bicep CLI from NuGet (package Azure.Bicep.CommandLine.linux-x64) into a cache outside the repo
# and prints the path of the `bicep` binary. Needs the .NET SDK (`dotnet`) and NuGet; nothing else is
# downloaded. A second run finds the cached binary and restores nothing.
#
#   BICEP_BIN=$(scripts/install-bicep.sh) npm run infra:check
set -euo pipefail

readonly BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
readonly PACKAGE='Azure.Bicep.CommandLine.linux-x64'
cache="${MDE_ISOLATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mde-isolator}/bicep/$BICEP_VERSION"
bin="$cache/packages/${PACKAGE,,}/$BICEP_VERSION/tools/bicep"

if [[ ! -x $bin ]]; then
  if ! command -v dotnet >/dev/null; then
    echo 'error: installing Bicep from NuGet needs the .NET SDK (dotnet); or install the Azure CLI and run `az bicep install`' >&2
    exit 1
  fi
  mkdir -p "$cache"
  # A throwaway project whose only job is to make NuGet download the package (PackageDownload: no reference,
  # no build).
  cat >"$cache/restore.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net$(dotnet --version | cut -d. -f1).0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="$PACKAGE" Version="[$BICEP_VERSION]" /></ItemGroup>
</Project>
CSPROJ
  dotnet restore "$cache/restore.csproj" --packages "$cache/packages" --nologo --verbosity quiet >&2
  chmod +x "$bin"
fi
echo "$bin"
