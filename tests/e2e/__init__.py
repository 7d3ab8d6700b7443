"""Browser tests (Playwright, Debian's chromium): a package, so their chromium and server end
with them."""
