#!/usr/bin/env bash
# Refreshes requirements/lock.txt: exact versions and hashes of every third-party distribution
# that voxtext, every first-party plugin under plugins/ and the test/bench extras need,
# transitive ones included, resolved for every platform (markers in the file).
# scripts/install.sh installs from the lock; pyproject files keep compatible ranges.
#
#   bash scripts/lock.sh                      # re-resolve, keeping current pins where still allowed
#   bash scripts/lock.sh --upgrade            # move every pin to the newest allowed version
#   bash scripts/lock.sh --upgrade-package X  # move one
#
# After changing a pin, run the whole suite on the new lock before committing it.
set -euo pipefail
cd "$(dirname "$0")/.."

uv_version=0.13.9 # the resolver is pinned too, so the same inputs give the same lock
tool_dir=${VOXTEXT_LOCK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/voxtext/uv-$uv_version}
if [ ! -x "$tool_dir/bin/uv" ]; then
  "${PYTHON:-python3}" -m venv "$tool_dir"
  "$tool_dir/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
fi

# The inputs go on stdin, so the lock's "via" notes name no temporary file.
inputs() {
  echo "-e .[test,bench,onnx]"
  for plugin in plugins/voxtext-*/; do
    [ -f "$plugin/pyproject.toml" ] && echo "-e ./${plugin%/}"
  done
  # install.sh builds the editable installs without build isolation, from this setuptools
  echo "setuptools>=68"
}

# The local packages themselves are installed editable by install.sh, not from the lock.
no_emit=(--no-emit-package voxtext)
for plugin in plugins/voxtext-*/; do
  [ -f "$plugin/pyproject.toml" ] && no_emit+=(--no-emit-package "$(basename "$plugin")")
done

inputs | "$tool_dir/bin/uv" pip compile - \
  --universal --python-version 3.11 --generate-hashes \
  --index-url https://pypi.org/simple \
  "${no_emit[@]}" \
  --custom-compile-command "bash scripts/lock.sh" \
  --output-file requirements/lock.txt "$@"
