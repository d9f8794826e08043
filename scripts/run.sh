#!/usr/bin/env bash
# The main job: install what the build needs, build, and run the daemon in
# the foreground with the given arguments (default: the embedded profile).
#   scripts/run.sh                      # mintflow run
#   scripts/run.sh -c my-profile.yaml   # mintflow run -c my-profile.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
scripts/build.sh build --buildtype=debugoptimized -Dtests=false
exec build/mintflow run "$@"
