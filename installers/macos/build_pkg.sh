#!/bin/bash
# Build the Branchsync installer package: Branchsync.app into /Applications, the machine-wide
# config folder, `branchsync` on PATH (pkg-scripts/postinstall). Unsigned: sign_pkg.sh signs it.
#
#   installers/macos/build_pkg.sh build/dist/Branchsync.app 0.1.0 build/packages/Branchsync-0.1.0.pkg
# shellcheck source=installers/macos/common.sh
source "$(dirname "$0")/common.sh"
require_macos
app=${1:?usage: build_pkg.sh Branchsync.app VERSION OUT.pkg}
version=${2:?usage: build_pkg.sh Branchsync.app VERSION OUT.pkg}
out=${3:?usage: build_pkg.sh Branchsync.app VERSION OUT.pkg}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/scripts" "$work/packages" "$(dirname "$out")"
ditto "$app" "$work/root/Branchsync.app"              # keeps signatures, symlinks and stapled ticket
cp "$HERE/pkg-scripts/postinstall" "$work/scripts/postinstall"
cp "$HERE/../machine-config.toml" "$work/scripts/machine-config.toml"
chmod 0755 "$work/scripts/postinstall"

pkgbuild --root "$work/root" --component-plist "$HERE/component.plist" --install-location /Applications \
    --identifier "$BUNDLE_ID" --version "$version" --scripts "$work/scripts" \
    "$work/packages/Branchsync-component.pkg"

# Built on Apple silicon: arm64 only. Built on Intel: x86_64, which Apple silicon runs under Rosetta.
case "$(lipo -archs "$app/Contents/MacOS/branchsync")" in
    *x86_64*arm64*|*arm64*x86_64*) hosts="arm64,x86_64" ;;
    *arm64*) hosts="arm64" ;;
    *) hosts="x86_64,arm64" ;;
esac
sed -e "s/@VERSION@/$version/" -e "s/@HOST_ARCHITECTURES@/$hosts/" "$HERE/distribution.xml" > "$work/distribution.xml"
productbuild --distribution "$work/distribution.xml" --package-path "$work/packages" --version "$version" "$out"
echo "built: $out"
