"""Secrets for CLI commands, never only from the command line (shell history and `ps` keep it).

Each secret comes from, in this order: its option's value (`-` reads one line of stdin), its
MPESA_* environment variable, or a hidden prompt when stdin is a terminal. With named_only
(update-credentials) a secret counts only when its option is named; named without a value, it
comes from the variable or the prompt.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])

ASK = "\x00ask"  # a secret option named without a value
SECRETS = {  # parameter -> its environment variable
    "consumer_key": "MPESA_CONSUMER_KEY",
    "consumer_secret": "MPESA_CONSUMER_SECRET",
    "passkey": "MPESA_PASSKEY",
    "initiator_password": "MPESA_INITIATOR_PASSWORD",
}


def secret_option(name: str, help: str) -> Callable[[F], F]:
    return click.option(
        _flag(name),
        name,
        envvar=SECRETS[name],
        show_envvar=True,
        is_flag=False,
        flag_value=ASK,
        metavar="[-|VALUE]",
        help=f"{help}: - reads a line of stdin; no value reads the variable, else prompts"
        " (hidden). A value typed here stays in shell history and shows in ps",
    )


def given_secrets(*, named_only: bool = False) -> dict[str, str]:
    """The secrets given to the running command; ASK for those still to prompt for."""
    ctx = click.get_current_context()
    if sum(ctx.params[name] == "-" for name in SECRETS) > 1:
        raise click.UsageError("only one secret can come from stdin: set variables for the others")
    given = {}
    for name in SECRETS:
        value = ctx.params[name]
        named = ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        if value is None or (named_only and not named):
            continue
        if value == ASK:
            option = next(p for p in ctx.command.params if p.name == name)
            value = option.resolve_envvar_value(ctx) or ASK
        elif value == "-":
            value = sys.stdin.readline().rstrip("\r\n")
            if not value:
                raise click.UsageError(f"{_flag(name)} -: stdin gave no value")
        given[name] = value
    return given


def prompt_for(values: dict[str, Any], needed: list[str], what: str) -> None:
    """Fill the needed secrets still missing from a hidden prompt; without a terminal, a usage
    error naming them and the safe ways to give them."""
    missing = [name for name in needed if values.get(name) in (None, ASK)]
    if missing and not stdin_is_a_terminal():
        raise click.UsageError(
            f"{what} needs {', '.join(map(_flag, missing))}: set"
            f" {', '.join(SECRETS[name] for name in missing)}, or give one option as - to read it"
            " from stdin, or run in a terminal to be prompted (values typed on the command line"
            " stay in shell history)"
        )
    for name in missing:
        values[name] = click.prompt(name.replace("_", " ").capitalize(), hide_input=True, err=True)


def stdin_is_a_terminal() -> bool:
    return sys.stdin.isatty()


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"
