"""Building, smoke-testing, packaging and signing the desktop app (``installers/build.py``).

Build-time code only: nothing here ships inside the app. ``build`` is the one command;
``freeze`` runs PyInstaller, ``smoke`` tries the frozen binary, ``linux`` makes the
``.deb`` and the signed apt repository, ``plans`` lists each platform's steps (the
Windows and macOS ones run their own scripts in ``windows/`` and ``macos/``).
"""
