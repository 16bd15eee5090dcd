"""The shell commands README.md shows: every line of its ```sh blocks (continuations and quoted strings
over several lines joined), and every inline code span in its prose that starts with a program a
reader would run (`make ...`, `uv run ...`, `sam ...`, `aws ...`). tests/e2e/test_readme_commands.py
runs each or names why it cannot run here."""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCKS = ("sh", "bash", "shell", "console")
PROGRAMS = (
    "make",
    "uv",
    "sam",
    "aws",
    "runbook",
    "runbook-local",
    "runbook-sandbox",
    "git",
    "jq",
    "apt",
    "apt-get",
    "pytest",
    "python",
    "python3",
    "moto_server",
    "faketime",
    "base64",
    "curl",
    "docker",
    "export",
    "bash",
    ".ci/run",
    "scripts/",
    ".venv/bin/",
)
_FENCE = re.compile(r"^\s*```(\S*)")
_INLINE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Command:
    key: str  # one line, comments dropped, whitespace collapsed: what the coverage list names
    source: str  # as written (continuations and newlines inside quotes kept): what is run
    line: int
    inline: bool


def _without_comment(line: str) -> str:
    """The line up to a `#` that starts a shell comment (outside quotes, after whitespace)."""
    quote: str | None = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _complete(text: str) -> bool:
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text)
    except ValueError:  # a quote still open: the string goes on on the next line
        return False
    return True


def _key(text: str) -> str:
    return " ".join(text.replace("\\\n", " ").split())


def block_commands(text: str) -> list[Command]:
    commands: list[Command] = []
    language: str | None = None
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        fence = _FENCE.match(raw)
        if fence:
            language = None if language is not None else fence.group(1)
            continue
        if language not in SHELL_BLOCKS:
            continue
        line = _without_comment(raw.strip()) if not pending else _without_comment(raw)
        if not line and not pending:
            continue
        if not pending:
            start = number
        pending.append(line)
        source = "\n".join(pending)
        if _complete(source):
            commands.append(Command(_key(source), source, start, inline=False))
            pending = []
    return commands


def inline_commands(text: str) -> list[Command]:
    commands: list[Command] = []
    in_block = False
    prose: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if _FENCE.match(raw):
            in_block = not in_block
            continue
        if not in_block:
            prose.append((number, raw))
    # Spans may wrap over lines: match on the joined prose, map back to the line they start on.
    joined = ""
    starts: list[tuple[int, int]] = []
    for number, raw in prose:
        starts.append((len(joined), number))
        joined += raw + "\n"
    for match in _INLINE.finditer(joined):
        span = " ".join(match.group(1).split())
        first = span.split(" ", 1)[0]
        if first in PROGRAMS or first.startswith(tuple(p for p in PROGRAMS if p.endswith("/"))):
            line = max(n for offset, n in starts if offset <= match.start())
            commands.append(Command(span, span, line, inline=True))
    return commands


def readme_commands(path: Path = README) -> list[Command]:
    text = path.read_text(encoding="utf-8")
    return block_commands(text) + inline_commands(text)
