"""The `imagegen` command.

    imagegen                 open the window (gui.app)
    imagegen models [--json] [--all]
    imagegen serve ...       run the backend (backend.server)
    imagegen generate ...    one generation, headless (gui.engine.cli_generate)
    imagegen --install-desktop-entry | --uninstall-desktop-entry   (gui.desktop_entry)
    imagegen --smoke-test    open the window offscreen, check it, quit (gui.smoke_test)

`serve`, `generate` and the window parse their own flags, so their arguments are passed
through untouched. Their modules are imported only when chosen: `imagegen models` must work
without Qt or the backend's dependencies being importable.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from catalog.document import catalog_document
from catalog.models import picker_models
from catalog.pricing import describe_price
from catalog.spec import VALID_ASPECT_RATIOS, ModelSpec

# subcommand -> (module, function); each function takes the remaining argv.
_PASSTHROUGH: dict[str, tuple[str, str]] = {
    "serve": ("backend.server", "serve_main"),
    "generate": ("gui.app", "generate_main"),  # assembled there, run by gui.engine.cli_generate
}
_WINDOW = ("gui.app", "main")
# Flags that do one thing instead of opening the window: flag -> (module, function).
_ACTIONS: dict[str, tuple[str, str]] = {
    "--install-desktop-entry": ("gui.desktop_entry", "main_install"),
    "--uninstall-desktop-entry": ("gui.desktop_entry", "main_uninstall"),
    "--smoke-test": ("gui.smoke_test", "main"),
}
EXIT_UNAVAILABLE = 2
EXIT_USAGE = 2  # argparse's own code for a usage error

_COLUMNS = ("id", "label", "provider", "mode", "attachments", "ratios", "options", "cost")


def _ratios(model: ModelSpec) -> str:
    if not model.aspect_ratios:
        return "n/a"
    if set(model.aspect_ratios) == set(VALID_ASPECT_RATIOS):
        return f"all {len(VALID_ASPECT_RATIOS)}"
    return " ".join(model.aspect_ratios)


def _options(model: ModelSpec) -> str:
    parts = []
    if model.resolutions:
        parts.append("resolution " + "/".join(model.resolutions))
    if model.qualities:
        parts.append("quality " + "/".join(model.qualities))
    return ", ".join(parts) or "-"


def _row(model: ModelSpec) -> tuple[str, ...]:
    label = model.label + (" (new)" if model.is_new else "")
    if not model.in_picker:
        label += " (hidden)"
    return (
        model.id,
        label,
        model.provider,
        model.call_type,
        model.attachments.describe(),
        _ratios(model),
        _options(model),
        describe_price(model.id),
    )


def models_table(show_all: bool = False) -> str:
    """The model matrix as an aligned plain-text table."""
    models = picker_models(show_all=show_all)
    body = [_row(m) for m in models]
    widths = [max(len(row[i]) for row in [_COLUMNS, *body]) for i in range(len(_COLUMNS))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()

    lines = [fmt(_COLUMNS), fmt(["-" * w for w in widths]), *(fmt(row) for row in body)]
    hidden = len(picker_models(show_all=True)) - len(picker_models())
    footer = [f"{len(models)} models; cost is credits per image."]
    if hidden and not show_all:
        footer.append(
            f"{hidden} models hidden from the picker; `imagegen models --all` lists them."
        )
    return "\n".join([*lines, "", *footer])


def _run_models(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(catalog_document(), indent=2))
    else:
        print(models_table(show_all=args.all))
    return 0


def _dispatch(command: str, target: tuple[str, str], rest: list[str]) -> int:
    """Import `target` only now and run it with the remaining arguments."""
    module_name, func_name = target
    try:
        module = importlib.import_module(module_name)
        func: Callable[[list[str]], int | None] = getattr(module, func_name)
    except ImportError as exc:  # ModuleNotFoundError included: a module or a dependency
        missing = getattr(exc, "name", None) or module_name
        print(
            f"imagegen: {command} is not available: the Python module {missing!r} "
            f"could not be imported ({exc}).",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    except AttributeError:
        print(
            f"imagegen: {command} is not available: {module_name} has no {func_name}().",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    result = func(rest)
    return int(result) if result is not None else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagegen",
        description="Desktop client for hosted image models. Without a command, opens the window.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    models = sub.add_parser("models", help="print the model matrix")
    models.add_argument("--json", action="store_true", help="print the catalog JSON document")
    models.add_argument("--all", action="store_true", help="include models hidden from the picker")
    # Listed for --help only: these are dispatched before parsing (see main).
    sub.add_parser("serve", help="run the backend server (see `imagegen serve --help`)")
    sub.add_parser("generate", help="run one generation headless (`imagegen generate --help`)")
    # Listed for --help only: dispatched before parsing (see main).
    parser.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add Imagegen to this user's desktop menu (a .desktop file and its icon)",
    )
    parser.add_argument(
        "--uninstall-desktop-entry",
        action="store_true",
        help="remove what --install-desktop-entry wrote",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the window offscreen on a scratch data folder, check it, and quit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    # Pass-through commands own their flags, so they are dispatched before argparse sees
    # (and rejects) options it does not know.
    if args_in and args_in[0] in _PASSTHROUGH:
        return _dispatch(f"`imagegen {args_in[0]}`", _PASSTHROUGH[args_in[0]], args_in[1:])
    if args_in and args_in[0] in _ACTIONS:
        if len(args_in) > 1:
            print(f"imagegen: {args_in[0]} takes no other arguments.", file=sys.stderr)
            return EXIT_USAGE
        return _dispatch(f"`imagegen {args_in[0]}`", _ACTIONS[args_in[0]], [])
    if not args_in or (args_in[0].startswith("-") and args_in[0] not in ("-h", "--help")):
        return _dispatch("the window", _WINDOW, args_in)
    args = build_parser().parse_args(args_in)
    if args.command == "models":
        return _run_models(args)
    build_parser().print_help()
    return EXIT_UNAVAILABLE


if __name__ == "__main__":
    sys.exit(main())
