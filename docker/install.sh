#!/bin/sh
# The image's install steps; `make docker-check` runs the very same in a clean venv.
#   install.sh deps   the run and PostgreSQL dependencies, at the exact versions of
#                     constraints.txt (needs only pyproject.toml and constraints.txt,
#                     so the image keeps them in a layer that code edits do not touch)
#   install.sh app    Earmark itself, leaving the dependencies as they are
set -eu
case "${1:-}" in
deps)
    list=$(mktemp)
    python - > "$list" <<'PY'
import tomllib

with open("pyproject.toml", "rb") as fh:
    project = tomllib.load(fh)["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["postgres"]))
PY
    python -m pip install --no-cache-dir -c constraints.txt -r "$list"
    rm -f "$list"
    ;;
app)
    python -m pip install --no-cache-dir --no-deps .
    ;;
*)
    echo "usage: install.sh deps|app" >&2
    exit 2
    ;;
esac
