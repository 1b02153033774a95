"""Signaling programs written as the specifications list their steps: each message named,
sized from its wire format in ``dmmemu.wire.sizes``, placed after the step it follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmmemu.engine.signaling import AT_SIGNALING_START, Leg, MessageKind
from dmmemu.wire.sizes import MESSAGES


@dataclass(frozen=True, slots=True)
class MessageKinds:
    """A practice's counted messages: (name in the signaling table, wire format in
    ``dmmemu.wire.sizes``, reply) in the order of its signaling counters."""

    rows: tuple[tuple[str, str, bool], ...]

    def index(self, name: str) -> int:
        for i, (own, _, _) in enumerate(self.rows):
            if own == name:
                return i
        raise KeyError(name)

    def wire(self, name: str) -> str:
        return self.rows[self.index(name)][1]

    @property
    def message_kinds(self) -> tuple[MessageKind, ...]:
        return tuple(MessageKind(name, wire, reply=reply) for name, wire, reply in self.rows)


@dataclass(slots=True)
class Program:
    """The legs of one cause as they are written, each leg's index returned for the next."""

    cause: int
    kinds: MessageKinds
    legs: list[Leg] = field(default_factory=list)

    def add(self, name: str, src: int, dst: int, after: int = AT_SIGNALING_START,
            **options: Any) -> int:
        self.legs.append(Leg(cause=self.cause, kind=self.kinds.index(name), src=src, dst=dst,
                             nbytes=MESSAGES[self.kinds.wire(name)].bytes, after=after,
                             **options))
        return len(self.legs) - 1

    def pair(self, names: tuple[str, str], src: int, dst: int,
             after: int = AT_SIGNALING_START, *, ends: str = "",
             **options: Any) -> tuple[int, int]:
        """A message from ``src`` to ``dst`` and its answer back (``names``); ``ends`` names
        the one whose arrival completes the path ("request" or "reply"). Their legs."""
        sent = self.add(names[0], src, dst, after, ends=ends == "request", **options)
        return sent, self.add(names[1], dst, src, sent, ends=ends == "reply", **options)

    def exchange(self, request: str, src: int, dst: int, after: int = AT_SIGNALING_START,
                 *, on: str = "", **options: Any) -> int:
        """The ``request`` Request from ``src`` to ``dst`` and its Response back, named with
        the interface ``on`` ("S11") if given; the response's leg."""
        suffix = f" ({on})" if on else ""
        names = (f"{request} Request{suffix}", f"{request} Response{suffix}")
        return self.pair(names, src, dst, after, **options)[1]
