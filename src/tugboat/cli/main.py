"""`tug`: docker's command line against tugd (or any Docker Engine API v1.41 daemon).

Start-up time is benchmarked, so this module imports almost nothing: global flags are scanned by
hand and each command's module is imported only when that command runs.
"""

from __future__ import annotations

import sys

# command -> (module under tugboat.cli.commands, function)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run"), "create": ("run", "create"),
    "start": ("container", "start"), "stop": ("container", "stop"), "kill": ("container", "kill"),
    "restart": ("container", "restart"), "rm": ("container", "rm"), "wait": ("container", "wait"),
    "logs": ("container", "logs"), "export": ("container", "export"),
    "ps": ("ps", "ps"), "inspect": ("inspect", "inspect"),
    "images": ("images", "images"), "rmi": ("images", "rmi"), "tag": ("images", "tag"),
    "import": ("images", "import_"), "save": ("images", "save"), "load": ("images", "load"),
    "history": ("images", "history"), "build": ("build", "build"),
    "pull": ("registry", "pull"), "push": ("registry", "push"), "login": ("registry", "login"),
    "logout": ("registry", "logout"), "search": ("registry", "search"),
    "pause": ("toolbox", "pause"), "unpause": ("toolbox", "unpause"), "rename": ("toolbox", "rename"),
    "top": ("toolbox", "top"), "diff": ("toolbox", "diff"), "stats": ("stats", "stats"),
    "version": ("system", "version"), "info": ("system", "info"),
    "exec": ("exec", "exec_"),
    "commit": ("transfer", "commit"), "cp": ("transfer", "cp"), "events": ("events", "events"),
    "update": ("update", "update"), "port": ("port", "port"), "attach": ("attach", "attach"),
}
MANAGEMENT: dict[str, dict[str, tuple[str, str]]] = {
    "container": {
        "ls": ("ps", "ps"), "ps": ("ps", "ps"), "list": ("ps", "ps"),
        "run": COMMANDS["run"], "create": COMMANDS["create"], "start": COMMANDS["start"],
        "stop": COMMANDS["stop"], "kill": COMMANDS["kill"], "restart": COMMANDS["restart"],
        "rm": COMMANDS["rm"], "remove": COMMANDS["rm"], "logs": COMMANDS["logs"],
        "inspect": ("inspect", "container_inspect"), "wait": COMMANDS["wait"],
        "export": COMMANDS["export"], "prune": ("container", "prune"),
        "pause": COMMANDS["pause"], "unpause": COMMANDS["unpause"], "rename": COMMANDS["rename"],
        "top": COMMANDS["top"], "diff": COMMANDS["diff"], "stats": COMMANDS["stats"],
        "commit": COMMANDS["commit"], "cp": COMMANDS["cp"], "exec": COMMANDS["exec"], "update": COMMANDS["update"],
        "port": COMMANDS["port"], "attach": COMMANDS["attach"],
    },
    "image": {
        "ls": ("images", "images"), "list": ("images", "images"), "rm": COMMANDS["rmi"],
        "remove": COMMANDS["rmi"], "tag": COMMANDS["tag"], "import": COMMANDS["import"],
        "save": COMMANDS["save"], "load": COMMANDS["load"], "history": COMMANDS["history"],
        "inspect": ("inspect", "image_inspect"), "prune": ("images", "prune"), "build": ("build", "build"),
        "pull": ("registry", "pull"), "push": ("registry", "push"),
    },
    "system": {"info": COMMANDS["info"], "events": COMMANDS["events"], "df": ("system_df", "df"),
               "prune": ("system_prune", "prune")},
    "builder": {"build": COMMANDS["build"], "prune": ("build", "prune")},
    "volume": {
        "create": ("volume", "create"), "ls": ("volume", "ls"), "list": ("volume", "ls"),
        "inspect": ("volume", "inspect"), "rm": ("volume", "rm"), "remove": ("volume", "rm"),
        "prune": ("volume", "prune"),
    },
    "network": {
        "create": ("network", "create"), "ls": ("network", "ls"), "list": ("network", "ls"),
        "inspect": ("network", "inspect"), "rm": ("network", "rm"), "remove": ("network", "rm"),
        "prune": ("network", "prune"), "connect": ("network", "connect"),
        "disconnect": ("network", "disconnect"),
    },
}

# global flags that take a value
_GLOBAL_VALUE = {"-H", "--host", "-l", "--log-level", "--config", "-c", "--context", "--tlscacert",
                 "--tlscert", "--tlskey"}
_GLOBAL_BOOL = {"-D", "--debug", "--tls", "--tlsverify"}

USAGE = """Usage:  tug [OPTIONS] COMMAND

A Docker-compatible command line for tugd

Commands:
  run         Create and run a new container from an image
  build       Build an image from a Dockerfile
  ps          List containers
  images      List images
  version     Show the version information
  info        Display system-wide information
  attach      Attach local standard input, output, and error streams to a running container
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  events      Get real time events from the server
  exec        Run a command in a running container
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Return low-level information on Docker objects
  kill        Kill one or more running containers
  load        Load an image from a tar archive or STDIN
  login       Log in to a Docker registry
  logout      Log out from a Docker registry
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  pull        Download an image from a registry
  push        Upload an image to a registry
  restart     Restart one or more containers
  rm          Remove one or more containers
  rename      Rename a container
  rmi         Remove one or more images
  search      Search the Docker Hub for images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  wait        Block until one or more containers stop, then print their exit codes

Management Commands:
  container   Manage containers
  builder     Manage builds
  image       Manage images
  network     Manage networks
  system      Manage Docker

Global Options:
  -H, --host list          Daemon socket to connect to (default: $TUG_HOST, $DOCKER_HOST,
                           unix:///run/tugboat/tugboat.sock)
  -v, --version            Print version information and quit

Run 'tug COMMAND --help' for more information on a command.
"""


def _split_globals(argv: list[str]) -> tuple[str | None, list[str], int | None]:
    """Consume docker's global flags before the command name. Returns (host, rest, exit code)."""
    host: str | None = None
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition("=")
        if name in _GLOBAL_VALUE:
            if not eq:
                if i + 1 >= len(argv):
                    sys.stderr.write(f"flag needs an argument: {name}\nSee 'tug --help'.\n")
                    return None, [], 125
                value = argv[i + 1]
                i += 1
            if name in ("-H", "--host"):
                host = value
        elif a.startswith("-H") and len(a) > 2:
            host = a[2:]
        elif name in _GLOBAL_BOOL:
            pass
        elif a in ("-v", "--version"):
            from tugboat import __version__
            print(f"Tugboat version {__version__}, build tug")
            return None, [], 0
        elif a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return None, [], 0
        elif a.startswith("-") and a != "-":
            sys.stderr.write(f"unknown flag: {a}\n\nUsage:  tug [OPTIONS] COMMAND\n\n"
                             "Run 'tug --help' for more information\n")
            return None, [], 125
        else:
            break
        i += 1
    return host, argv[i:], None


def dispatch(argv: list[str]) -> int:
    host, rest, code = _split_globals(argv)
    if code is not None:
        return code
    if not rest:
        sys.stdout.write(USAGE)
        return 0
    name, args = rest[0], rest[1:]
    path = name
    target = COMMANDS.get(name)
    if target is None and name in MANAGEMENT:
        subs = MANAGEMENT[name]
        if not args or args[0] in ("-h", "--help"):
            sys.stdout.write(f"Usage:  tug {name} COMMAND\n\nCommands:\n"
                             + "".join(f"  {s}\n" for s in sorted(subs)))
            return 0
        target = subs.get(args[0])
        if target is None:
            sys.stderr.write(f"tug: unknown command: tug {name} {args[0]}\n\nUsage:  tug {name}\n\n"
                             f"Run 'tug {name} --help' for more information\n")
            return 1
        path = f"{name} {args[0]}"
        args = args[1:]
    if target is None:
        sys.stderr.write(f"tug: unknown command: tug {name}\n\nRun 'tug --help' for more information\n")
        return 1
    import importlib

    from tugboat.cli.context import Context
    from tugboat.cli.flags import HelpRequested, UsageError, help_text
    from tugboat.client.errors import DaemonUnreachable
    module = importlib.import_module(f"tugboat.cli.commands.{target[0]}")
    ctx = Context(host)
    try:
        result: int = getattr(module, target[1])(ctx, args, path)
        return result
    except UsageError as e:
        sys.stderr.write(e.render() + "\n")
        return e.exit_code
    except HelpRequested as e:
        sys.stdout.write(help_text(e.spec))
        return 0
    except DaemonUnreachable as e:
        sys.stderr.write(f"{e}\n")
        return 1
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    try:
        code = dispatch(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # die of SIGPIPE like docker (a Go program) does, so `tug save | head` exits 141 too
        import _signal
        import os
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
        os.kill(os.getpid(), _signal.SIGPIPE)
        code = 141
    return code


if __name__ == "__main__":
    sys.exit(main())
