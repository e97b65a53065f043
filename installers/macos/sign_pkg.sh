#!/bin/bash
# Sign the installer package with the Developer ID Installer certificate (with a secure timestamp).
#
#   BRANCHSYNC_INSTALLER_IDENTITY="Developer ID Installer: Example Ltd (ABCDE12345)" \
#       installers/macos/sign_pkg.sh build/packages/Branchsync-0.1.0.pkg
# shellcheck source=installers/macos/common.sh
source "$(dirname "$0")/common.sh"
require_macos
pkg=${1:?usage: sign_pkg.sh Branchsync.pkg}
need BRANCHSYNC_INSTALLER_IDENTITY "a Developer ID Installer identity, see: security find-identity -v"
unsigned="${pkg%.pkg}-unsigned.pkg"
mv "$pkg" "$unsigned"
productsign --timestamp --sign "$BRANCHSYNC_INSTALLER_IDENTITY" "$unsigned" "$pkg"
rm "$unsigned"
pkgutil --check-signature "$pkg"
echo "signed: $pkg"
