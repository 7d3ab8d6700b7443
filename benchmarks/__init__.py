"""cnnviz's benchmarks, beside the library and never imported by it: `python -m benchmarks NAME`.

Each module exposes `main(argv) -> int`; with `--json` it prints, after its Markdown for
BENCHMARKS.md, one final line holding its figures as a JSON object (benchmarks/common.py).
`browser.py` holds the Playwright helpers that tests/e2e and the browser benchmark
(`browser_latency.py`) drive the app with.
"""
