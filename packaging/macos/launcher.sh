#!/bin/sh
# Latent Studio.app's executable. The bundle carries uv, the lock and the app wheel (Contents/Resources/payload);
# the Python environment lives outside it, in ~/Library/Application Support/LatentStudio/app, so that the
# signed bundle stays unchanged and the first-run set-up can install PyTorch into it. On the first start (and
# after an update of the app) it creates or updates that environment, with uv installing a Python; then it runs
# the app. Arguments are passed on: `.../Contents/MacOS/LatentStudio setup --check` runs the CLI.
set -eu
payload=$(cd "$(dirname "$0")/../Resources/payload" && pwd)
. "$payload/release.env"
prefix="$HOME/Library/Application Support/LatentStudio/app"
log="$HOME/Library/Logs/LatentStudio-install.log"

if [ "$(cat "$prefix/installed-version" 2>/dev/null)" != "$VERSION" ]; then
    mkdir -p "$(dirname "$log")"
    [ $# -eq 0 ] && osascript -e 'display notification "Setting up Latent Studio (first start, about a minute)" with title "Latent Studio"' || true
    if ! sh "$payload/make_env.sh" "$prefix" "$payload" "$MANAGED_PYTHON" >"$log" 2>&1; then
        [ $# -eq 0 ] && osascript -e "display alert \"Latent Studio could not set itself up.\" message \"Check the internet connection and start it again. Details: $log\"" || true
        cat "$log" >&2
        exit 1
    fi
    cp "$payload/uninstall.command" "$prefix/uninstall.command"
    echo "$VERSION" > "$prefix/installed-version"
fi
exec "$prefix/venv/bin/python" -m studio "$@"
