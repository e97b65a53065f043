"""Linux packaging: the ``.deb`` (``deb``), GPG signing (``gpg``) and the apt repository (``apt_repo``)."""
