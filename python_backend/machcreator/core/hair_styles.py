"""The hairstyle library: named, labelled styles a prompt picks from (Mach's labelled hairstyles).

The paper generates hairstyles offline and labels them (type, length, curl). Each entry here is a
label set (what a person asks for) plus the few growth fields the generator needs (how long the
sides are, which way the hair is combed, where it is gathered). Styles are grown on first use on
any head and cached (see :mod:`machcreator.hair.growth`).

Lengths are centimetres of hair along the strand, measured on the top/back of the head; ``curl``
is 0 straight .. 0.5 wavy .. 0.8 curly .. 1 coily; ``volume`` 0 flat .. 1 full.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Literal

#: broad family of a style.
StyleType = Literal["bald", "short", "medium", "long", "updo", "braided", "textured"]
#: where the hair parts; "none": no parting.
Part = Literal["none", "left", "right", "center"]
#: hair over the forehead: none, a straight fringe, curtain bangs, a side-swept fringe.
Bangs = Literal["none", "fringe", "curtain", "side"]
#: the hairline's shape (see :mod:`machcreator.hair.scalp`).
Hairline = Literal["normal", "receding", "widows_peak", "high", "shaved_sides"]
#: combing direction of the free hair: falling, combed back, lifted/spiked, out from the head.
Flow = Literal["down", "back", "up", "radial"]
#: where the hair is gathered (tied, braided, rolled); "none" lets it fall.
Gather = Literal["none", "ponytail", "bun", "top_knot", "pigtails", "braid", "two_braids", "cornrows", "dreadlocks"]
#: where gathered hair is tied: the crown, the nape, the top of the head.
Tie = Literal["high", "low", "top"]


@dataclass(frozen=True)
class HairStyle:
    """One named style: its labels and the generator fields that make it.

    name: the library key (``--set hair.style=NAME``).
    type: broad family (:data:`StyleType`).
    length_cm: hair length on the top and back of the head, cm (0 for bald).
    curl: 0 straight .. 0.5 wavy .. 0.8 curly .. 1 coily.
    part: where it parts; bangs: hair over the forehead.
    volume: 0 flat against the head .. 1 full, lifted.
    hairline: the default hairline shape of the style.
    sides_cm: hair length on the sides and nape, cm (None: as ``length_cm``); undercuts, fades.
    fade: the side length ramps from skin at the neck up to ``sides_cm`` (a fade).
    flow: which way the free hair goes.
    gather: where it is gathered; tie: where gathered hair is tied.
    layers: 0 one length .. 1 strongly layered (shorter towards the face).
    aliases: words people use for it (the prompt's words pick a style by these first).
    """

    name: str
    type: StyleType
    length_cm: float
    curl: float = 0.0
    part: Part = "none"
    bangs: Bangs = "none"
    volume: float = 0.4
    hairline: Hairline = "normal"
    sides_cm: float | None = None
    fade: bool = False
    flow: Flow = "down"
    gather: Gather = "none"
    tie: Tie = "low"
    layers: float = 0.0
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def labels(self) -> dict[str, object]:
        """The user-facing labels (what `mach hair list` shows and the manifest records)."""
        d = asdict(self)
        return {k: d[k] for k in ("type", "length_cm", "curl", "part", "bangs", "volume", "hairline", "gather")}


def _s(name: str, type: StyleType, length_cm: float, *aliases: str, **kw: object) -> HairStyle:
    return HairStyle(name=name, type=type, length_cm=length_cm, aliases=aliases, **kw)  # type: ignore[arg-type]


STYLES: dict[str, HairStyle] = {s.name: s for s in (
    _s("bald", "bald", 0.0, "bald", "bald head", "hairless", "baldness", volume=0.0),
    _s("shaved", "short", 0.15, "shaved", "shaved head", "skinhead", "clean shaven head", volume=0.0),
    _s("buzz", "short", 0.6, "buzz cut", "buzzcut", "buzz", "military cut", "induction cut", volume=0.05),
    _s("crew_cut", "short", 2.5, "crew cut", "crewcut", "ivy league", sides_cm=1.0, fade=True, flow="back",
       volume=0.2),
    _s("fade", "short", 4.0, "fade", "skin fade", "high fade", "taper fade", sides_cm=1.2, fade=True,
       flow="up", volume=0.3),
    _s("undercut", "short", 12.0, "undercut", "disconnected undercut", "hipster cut", sides_cm=0.3,
       hairline="shaved_sides", flow="back", volume=0.5),
    _s("short", "short", 5.0, "short hair", "short", "short cut", "cropped", "crop", "regular cut", volume=0.3,
       flow="down", part="left"),
    _s("side_part", "short", 7.0, "side part", "side parting", "comb over", "gentleman cut", "businessman cut",
       part="left", flow="down", volume=0.35),
    _s("slicked_back", "short", 11.0, "slicked back", "slick back", "combed back", "swept back", "gelled back",
       flow="back", volume=0.15),
    _s("quiff", "short", 10.0, "quiff", "pompadour", "rockabilly", "elvis", sides_cm=3.0, flow="up",
       volume=0.9),
    _s("messy_short", "short", 7.0, "messy", "tousled", "bedhead", "shaggy short", "textured crop", curl=0.3,
       volume=0.6, flow="down", bangs="fringe"),
    _s("receding", "short", 4.0, "receding", "receding hairline", "thinning", "balding", hairline="receding",
       flow="back", volume=0.15),
    _s("mohawk", "short", 9.0, "mohawk", "mohican", "punk", "fauxhawk", sides_cm=0.2, hairline="shaved_sides",
       flow="up", volume=1.0),
    _s("pixie", "short", 5.0, "pixie", "pixie cut", "elfin cut", bangs="side", volume=0.35, part="left"),
    _s("bowl_cut", "short", 8.0, "bowl cut", "mushroom cut", "moptop", "beatles", bangs="fringe", volume=0.45),
    _s("bob", "medium", 18.0, "bob", "bob cut", "chin length", "blunt bob", volume=0.4),
    _s("lob", "medium", 25.0, "lob", "long bob", "collarbone length", part="left", volume=0.4),
    _s("curtain_bangs", "medium", 28.0, "curtain bangs", "curtain fringe", "middle part bangs", bangs="curtain",
       part="center", volume=0.45),
    _s("shag", "medium", 24.0, "shag", "shaggy", "layered", "wolf cut", "mullet", curl=0.35, layers=0.8,
       bangs="fringe", volume=0.6),
    _s("shoulder_straight", "medium", 32.0, "shoulder length", "shoulder length straight", "medium length",
       "medium", volume=0.35, part="center"),
    _s("shoulder_wavy", "medium", 32.0, "shoulder length wavy", "wavy bob", "beach waves", curl=0.5, volume=0.5,
       part="left"),
    _s("shoulder_curly", "medium", 30.0, "shoulder length curly", "curly bob", "ringlets", curl=0.8,
       volume=0.7),
    _s("long_straight", "long", 55.0, "long", "long straight", "long hair", "sleek", volume=0.35,
       part="center"),
    _s("long_wavy", "long", 55.0, "long wavy", "wavy", "flowing", "mermaid waves", curl=0.5, volume=0.5,
       part="left"),
    _s("long_curly", "long", 50.0, "long curly", "curly", "big curls", "corkscrew curls", curl=0.8,
       volume=0.75),
    _s("very_long", "long", 80.0, "very long", "waist length", "rapunzel", "floor length", volume=0.3,
       part="center"),
    _s("side_swept", "long", 45.0, "side swept", "swept to the side", "side bangs", bangs="side", part="left",
       volume=0.45, layers=0.4),
    _s("afro", "textured", 8.0, "afro", "fro", "natural hair", "big afro", curl=1.0, flow="radial",
       volume=1.0),
    _s("ponytail_high", "updo", 45.0, "high ponytail", "ponytail", "pony tail", "cheerleader ponytail",
       gather="ponytail", tie="high", flow="back", volume=0.15),
    _s("ponytail_low", "updo", 45.0, "low ponytail", "pulled back", "tied back", gather="ponytail",
       tie="low", flow="back", volume=0.15),
    _s("bun", "updo", 45.0, "bun", "chignon", "low bun", "ballerina bun", "updo", gather="bun", tie="low",
       flow="back", volume=0.15),
    _s("top_knot", "updo", 35.0, "top knot", "topknot", "man bun", "messy bun", "high bun", "samurai",
       gather="bun", tie="top", flow="back", volume=0.15),
    _s("pigtails", "updo", 35.0, "pigtails", "two pigtails", "bunches", "twin tails", "space buns",
       gather="pigtails", tie="low", part="center", volume=0.15),
    _s("braid", "braided", 50.0, "braid", "single braid", "plait", "french braid", "rope braid",
       gather="braid", tie="low", flow="back", volume=0.1),
    _s("two_braids", "braided", 45.0, "two braids", "braids", "plaits", "pippi", "dutch braids",
       gather="two_braids", tie="low", part="center", volume=0.1),
    _s("cornrows", "braided", 20.0, "cornrows", "cornrow", "canerows", "box braids short", curl=1.0,
       gather="cornrows", flow="back", volume=0.0),
    _s("dreadlocks", "textured", 35.0, "dreadlocks", "dreads", "locs", "rasta", "dread", curl=0.9,
       gather="dreadlocks", volume=0.5),
)}

def get_style(name: str) -> HairStyle:
    """The style called ``name``; a clear error listing the closest names for an unknown one."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if key in STYLES:
        return STYLES[key]
    close = difflib.get_close_matches(key, list(STYLES), n=4, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else "see `mach hair list`"
    raise ValueError(f"unknown hair style {name!r}; {hint}")
