"""`cnnviz app`: start the Streamlit app (app.py and app_pages/, wherever cnnviz is installed).

The server replaces this process (exec) and runs from the app's own folder, so its
`.streamlit/config.toml` (upload cap, no usage statistics, no developer toolbar) applies however
the command is started; the runs folder is resolved before that, from the caller's folder (see
cnnviz.paths). The server is `streamlit run` started by cnnviz.serving.boot, which imports the home
page's modules once the server answers, before a browser connects. --ray-address sends the
Training page's runs to a Ray cluster ($CNNVIZ_RAY_ADDRESS for the server; default: a Ray started
inside the server by the first run). With --replicas K, this process stays to run K servers behind
HAProxy (cnnviz.replicas), all sending their runs to one Ray.
"""

import argparse
import os
import sys

from cnnviz import paths
from cnnviz.classroom.tokens import TOKEN_ENV, teacher_token

# A classroom server does not watch its own source: Streamlit's watcher walks the whole checkout
# (.venv included), floods the log with inotify overflows and reruns every page on a save.
# A developer turns it back on: `cnnviz app --server.fileWatcherType auto --server.runOnSave true`.
SERVING_DEFAULTS = {"--server.fileWatcherType": "none", "--server.runOnSave": "false"}
# `streamlit run` that imports the home page's modules while the first browser loads Streamlit's
# frontend, instead of after it connects (cnnviz.serving.boot)
SERVER_MODULE = "cnnviz.serving.boot"

def parse_args(argv: list[str]) -> argparse.Namespace:
    """Our options; anything else (e.g. --server.fileWatcherType none) goes to `streamlit run`."""
    parser = argparse.ArgumentParser(prog="cnnviz app", description=__doc__.split("\n")[0],
                                     epilog="Other options are passed to `streamlit run`.")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument("--address", default=None,
                        help="address to listen on (default: Streamlit's, every interface)")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster the training runs go to, e.g. 10.0.0.5:6379 "
                             "(default: $CNNVIZ_RAY_ADDRESS, else a Ray inside the server)")
    parser.add_argument("--teacher-token", default=None, metavar="TOKEN",
                        help="the token of the teacher's link /class?token=TOKEN (default: "
                             "$CNNVIZ_TEACHER_TOKEN, else a random one, printed at the start)")
    parser.add_argument("--replicas", type=int, default=None, metavar="K",
                        help="run K Streamlit processes behind HAProxy on --address:--port "
                             "(sticky sessions; one Ray and one runs folder for all)")
    args, args.streamlit_options = parser.parse_known_args(argv)
    return args


def server_env(args: argparse.Namespace, token: str = "") -> dict[str, str]:
    """The server's environment: ours, with the runs folder, the Ray address and the teacher's
    token made explicit (every replica reads the one token from it)."""
    env = {**os.environ, paths.RUNS_ENV: str(paths.runs_dir().resolve())}
    if token:
        env[TOKEN_ENV] = token
    if args.ray_address:  # imported here: cnnviz.training loads NumPy, which delays every start
        from cnnviz.training.service import ADDRESS_ENV

        env[ADDRESS_ENV] = args.ray_address
    return env


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` command line for args, run by SERVER_MODULE (cnnviz.serving.boot)."""
    command = [sys.executable, "-m", SERVER_MODULE, "run", str(paths.APP),
               "--server.port", str(args.port), "--server.headless", "true"]
    if args.address:
        command += ["--server.address", args.address]
    given = {option.split("=")[0] for option in args.streamlit_options}
    for option, value in SERVING_DEFAULTS.items():
        if option not in given:
            command += [option, value]
    return command + args.streamlit_options


def teacher_link(args: argparse.Namespace, token: str) -> str:
    """The Class page's address with the token, as the teacher opens it on this machine."""
    host = args.address if args.address not in (None, "", "0.0.0.0", "::", "*") else "localhost"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{args.port}/class?token={token}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not paths.APP.is_file():
        print(f"error: the app is missing ({paths.APP}); reinstall cnnviz", file=sys.stderr)
        return 2
    try:
        token = teacher_token(args.teacher_token)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    env = server_env(args, token)  # the runs folder resolved before leaving the caller's folder
    # the one place the token is written: the terminal of whoever started the class (as Jupyter)
    print(f"cnnviz: the teacher's Class page (keep this link to yourself):\n"
          f"    {teacher_link(args, token)}", flush=True)
    if args.replicas is not None:
        from cnnviz.serving import replicas

        def replica(port: int) -> list[str]:
            return streamlit_command(argparse.Namespace(**{**vars(args), "port": port,
                                                           "address": "127.0.0.1"}))

        bind = f"{args.address or '*'}:{args.port}"
        return replicas.serve(replica, args.replicas, bind, env)
    os.chdir(paths.HOME)
    command = streamlit_command(args)
    os.execve(command[0], command, env)  # the server takes this process: signals reach it directly
