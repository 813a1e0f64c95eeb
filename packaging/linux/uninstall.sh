#!/bin/sh
# Remove Latent Studio: the app's folder (its Python environment and PyTorch), the command, the menu entry and
# the icon. The user's pictures, models, settings and logs (~/.local/share/LatentStudio) are kept unless
# --purge is given.
#
#   uninstall.sh [--purge]      (run from the installed copy, ~/.local/share/LatentStudio/app/uninstall.sh)
set -eu
prefix=$(cd "$(dirname "$0")" && pwd)
data_root=${XDG_DATA_HOME:-$HOME/.local/share}/LatentStudio
purge=false
case ${1-} in
    --purge) purge=true ;;
    "") ;;
    *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac
if [ ! -f "$prefix/installed-version" ]; then
    echo "$prefix is not a Latent Studio installation (no installed-version file); nothing removed." >&2
    exit 1
fi
if [ -f "$prefix/installed-files" ]; then
    while IFS= read -r file; do
        [ -n "$file" ] && rm -f "$file"
    done < "$prefix/installed-files"
fi
rm -rf "$prefix"
command -v update-desktop-database >/dev/null 2>&1 &&
    update-desktop-database -q "${XDG_DATA_HOME:-$HOME/.local/share}/applications" || true
if $purge; then
    rm -rf "$data_root"
    echo "Latent Studio and its data ($data_root) were removed."
elif [ -d "$data_root" ]; then
    echo "Latent Studio was removed. Your pictures, models and settings are still in $data_root"
else
    echo "Latent Studio was removed."
fi
