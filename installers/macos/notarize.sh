#!/bin/bash
# Notarize a signed Branchsync.app or .pkg with Apple's notary service, wait for the verdict,
# and staple the ticket so Gatekeeper accepts it offline.
#
#   installers/macos/notarize.sh build/dist/Branchsync.app
#   installers/macos/notarize.sh build/packages/Branchsync-0.1.0.pkg
#
# Credentials, never in the repository, either:
#   BRANCHSYNC_NOTARY_PROFILE   a keychain profile made once with
#                               `xcrun notarytool store-credentials PROFILE --apple-id … --team-id …`
# or an App Store Connect API key (what CI uses):
#   BRANCHSYNC_NOTARY_KEY (path to the .p8), BRANCHSYNC_NOTARY_KEY_ID, BRANCHSYNC_NOTARY_ISSUER
# shellcheck source=installers/macos/common.sh
source "$(dirname "$0")/common.sh"
require_macos
target=${1:?usage: notarize.sh Branchsync.app|Branchsync.pkg}

if [ -n "${BRANCHSYNC_NOTARY_PROFILE:-}" ]; then
    auth=(--keychain-profile "$BRANCHSYNC_NOTARY_PROFILE")
else
    need BRANCHSYNC_NOTARY_KEY "path of an App Store Connect API key (.p8), or set BRANCHSYNC_NOTARY_PROFILE"
    need BRANCHSYNC_NOTARY_KEY_ID "the API key's id"
    need BRANCHSYNC_NOTARY_ISSUER "the API key's issuer id"
    auth=(--key "$BRANCHSYNC_NOTARY_KEY" --key-id "$BRANCHSYNC_NOTARY_KEY_ID" --issuer "$BRANCHSYNC_NOTARY_ISSUER")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$target" in
    *.app) submission="$work/$(basename "$target" .app).zip"
           ditto -c -k --sequesterRsrc --keepParent "$target" "$submission" ;;
    *.pkg) submission=$target ;;
    *) die "notarizes a .app or a .pkg, not $target" ;;
esac

xcrun notarytool submit "$submission" "${auth[@]}" --wait --timeout 2h --output-format json \
    | tee "$work/result.json"
status=$(plutil -extract status raw -o - "$work/result.json")
if [ "$status" != "Accepted" ]; then
    id=$(plutil -extract id raw -o - "$work/result.json" || true)
    [ -n "$id" ] && xcrun notarytool log "$id" "${auth[@]}" >&2
    die "notarization of $target: $status"
fi
xcrun stapler staple "$target"
xcrun stapler validate "$target"
echo "notarized and stapled: $target"
