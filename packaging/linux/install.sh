#!/bin/sh
# Install Latent Studio for the current user (no root): the app's environment in
# ~/.local/share/LatentStudio/app, a `latent-studio` command in ~/.local/bin, a menu entry and an icon.
# Re-running it upgrades or repairs the installation and keeps the PyTorch build the first-run set-up installed.
#
#   ./install.sh            (LATENT_STUDIO_PREFIX=DIR to put the app's environment elsewhere)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/release.env"
data=${XDG_DATA_HOME:-$HOME/.local/share}
prefix=${LATENT_STUDIO_PREFIX:-$data/LatentStudio/app}
bin_dir=${XDG_BIN_HOME:-$HOME/.local/bin}
desktop_file=$data/applications/latent-studio.desktop
icon_file=$data/icons/hicolor/256x256/apps/latent-studio.png

# The system python3 when it is new enough for the lock, else a Python that uv downloads.
if command -v python3 >/dev/null 2>&1 &&
   python3 -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$LOCK_PYTHON'.split('.'))))"; then
    python=$(python3 -c "import sys; print(sys.executable)")  # the interpreter itself, not a pyenv shim
else
    python=$MANAGED_PYTHON
fi

echo "Installing Latent Studio $VERSION into $prefix (Python: $python)"
sh "$here/make_env.sh" "$prefix" "$here" "$python"
cp "$here/uninstall.sh" "$prefix/uninstall.sh"

mkdir -p "$bin_dir" "$(dirname "$desktop_file")" "$(dirname "$icon_file")"
ln -sf "$prefix/venv/bin/studio" "$bin_dir/latent-studio"
cp "$here/icon.png" "$icon_file"
sed "s|@STUDIO@|$prefix/venv/bin/studio|" "$here/latent-studio.desktop" > "$desktop_file"
# What uninstall.sh removes besides the app's folder.
printf '%s\n' "$bin_dir/latent-studio" "$desktop_file" "$icon_file" > "$prefix/installed-files"
echo "$VERSION" > "$prefix/installed-version"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true

echo "Done. Start it from the applications menu or with: $bin_dir/latent-studio"
echo "Its first start offers to download the PyTorch build that fits this machine."
echo "Uninstall: $prefix/uninstall.sh (keeps your pictures and models; --purge removes them too)"
