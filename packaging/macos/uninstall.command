#!/bin/sh
# Remove Latent Studio: the app's Python environment (with PyTorch) and Latent Studio.app. Pictures, models and
# settings (~/Library/Application Support/LatentStudio) are kept unless --purge is given. Double-click it in the
# disk image, or run it in a terminal: `uninstall.command [--purge] [PATH/TO/Latent Studio.app]`.
set -eu
data_root="$HOME/Library/Application Support/LatentStudio"
purge=false
if [ "${1-}" = "--purge" ]; then purge=true; shift; fi
for app in "${1-}" "/Applications/Latent Studio.app" "$HOME/Applications/Latent Studio.app"; do
    if [ -n "$app" ] && [ -f "$app/Contents/Resources/payload/release.env" ]; then
        rm -rf "$app"
        echo "Removed $app"
    fi
done
if [ -d "$data_root/app" ]; then
    rm -rf "$data_root/app"
fi
if $purge; then
    rm -rf "$data_root"
    echo "Latent Studio and its data ($data_root) were removed."
else
    echo "Latent Studio was removed. Your pictures, models and settings are still in $data_root"
fi
