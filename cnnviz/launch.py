"""`cnnviz app`: start the Streamlit app (app.py and app_pages/, wherever cnnviz is installed).

The server replaces this process (exec) and runs from the app's own folder, so its `.streamlit/config.toml` (upload cap, no
usage statistics, no developer toolbar) applies however the command is started; the runs folder
is resolved before that, from the caller's folder (see cnnviz.paths).
"""

import argparse
import os
import sys

from cnnviz import paths


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Our options; anything else (e.g. --server.fileWatcherType none) goes to `streamlit run`."""
    parser = argparse.ArgumentParser(prog="cnnviz app", description=__doc__.split("\n")[0],
                                     epilog="Other options are passed to `streamlit run`.")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument("--address", default=None,
                        help="address to listen on (default: Streamlit's, every interface)")
    args, args.streamlit_options = parser.parse_known_args(argv)
    return args


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` command line for args."""
    command = [sys.executable, "-m", "streamlit", "run", str(paths.APP),
               "--server.port", str(args.port), "--server.headless", "true"]
    if args.address:
        command += ["--server.address", args.address]
    return command + args.streamlit_options


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not paths.APP.is_file():
        print(f"error: the app is missing ({paths.APP}); reinstall cnnviz", file=sys.stderr)
        return 2
    os.environ[paths.RUNS_ENV] = str(paths.runs_dir().resolve())  # before leaving the caller's folder
    os.chdir(paths.HOME)
    command = streamlit_command(args)
    os.execv(command[0], command)  # the server takes this process: signals reach it directly
